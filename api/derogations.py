"""Derogation requests through the API: read in the pages' scope, drafted and edited by the
territory's EPCI agents, given the Region's opinion, consulted on and decided by the ministry.
Every write goes through the services, with the version the client read (If-Match)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.actions import IF_MATCH, WRITE_PROBLEMS, write_through
from api.authentication import acting_user
from api.pagination import UpdatedCursor
from api.schema import READ_PROBLEMS, problems
from api.versions import etag_of, expected_version
from api.views import updated_since, valid_filters
from cases.derogations import lists as derogation_lists
from cases.derogations import services as derogation_services
from cases.derogations.forms import DerogationFilterForm
from cases.derogations.models import DerogationRequest
from cases.kernel import lists, selectors
from cases.kernel.views import CREATABLE_SCOPE


def derogation_filters(request: Request) -> dict:
    regions, _, _ = lists.scope_choices(CREATABLE_SCOPE.rows(request.user))
    form = DerogationFilterForm(
        request.query_params, regions=regions, calls=derogation_lists.call_choices()
    )
    return valid_filters(form)


DEROGATION_FILTERS = [
    OpenApiParameter(
        "q",
        str,
        description="Texte cherché dans l'intitulé, la référence, le texte visé, le territoire.",
    ),
    OpenApiParameter("call", int, description="Appel à projets (identifiant)."),
    OpenApiParameter("state", str, description="État de la demande (code)."),
    OpenApiParameter("outcome", str, description="Décision (code)."),
    OpenApiParameter("region", int, description="Région pilote (identifiant)."),
    OpenApiParameter("rule", str, description="Référence du texte visé, écrite comme on veut."),
    OpenApiParameter(
        "due", str, enum=["late", "soon"], description="Échéance : en retard ou bientôt due."
    ),
    OpenApiParameter("since", OpenApiTypes.DATE, description="Déposée depuis le (inclus)."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Déposée jusqu'au (inclus)."),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="Modifiée depuis (ISO 8601, avec fuseau).",
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="Demandes de dérogation (France Expérimentation)",
        parameters=DEROGATION_FILTERS,
        responses={200: serializers.DerogationSerializer(many=True), **READ_PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="Une demande de dérogation",
        responses={200: serializers.DerogationSerializer, **READ_PROBLEMS},
    ),
    create=extend_schema(
        summary="Créer le brouillon d'une demande (agent d'un EPCI du territoire)",
        request=serializers.DerogationCreationSerializer,
        responses={201: serializers.DerogationSerializer, **problems(400, 401, 403, 409, 429)},
    ),
    partial_update=extend_schema(
        summary="Modifier une demande en rédaction",
        parameters=[IF_MATCH],
        request=serializers.DerogationChangesSerializer,
        responses={200: serializers.DerogationSerializer, **WRITE_PROBLEMS},
    ),
)
class DerogationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.DerogationSerializer
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]+"
    pagination_class = UpdatedCursor
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[DerogationRequest]:
        if self.action != "list":
            return derogation_lists.derogation_list(self.request.user, None)
        requests = derogation_lists.derogation_list(
            self.request.user, derogation_filters(self.request)
        )
        since = updated_since(self.request)
        return requests.filter(updated_at__gte=since) if since else requests

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        derogation = self.get_object()
        etag = etag_of(derogation)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(self.get_serializer(derogation).data, headers={"ETag": etag})

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        given = serializers.DerogationCreationSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        created = derogation_services.derogation_create(
            territory=fields.pop("territory"),
            call=fields.pop("call"),
            actor=acting_user(request),
            **fields,
        )
        return self.answer(created, 201)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        derogation = self.get_object()
        version = expected_version(request, derogation)
        given = serializers.DerogationChangesSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        changed = derogation_services.derogation_update(
            case=derogation,
            actor=acting_user(request),
            expected_version=version,
            changes=dict(given.validated_data),
        )
        return self.answer(changed, 200)

    @extend_schema(
        summary="L'avis de la Région pilote, pendant l'instruction régionale",
        parameters=[IF_MATCH],
        request=serializers.RegionOpinionInputSerializer,
        responses={200: serializers.DerogationSerializer, **WRITE_PROBLEMS},
    )
    @action(detail=True, methods=["post"], url_path="region-opinion")
    def region_opinion(self, request: Request, reference: str) -> Response:
        derogation = self.get_object()
        changed = write_through(
            request,
            serializers.RegionOpinionInputSerializer,
            derogation_services.region_opinion_give,
            version_of=derogation,
            case=derogation,
        )
        return self.answer(changed, 200)

    @extend_schema(
        summary="La décision du ministère (accordée, refusée, résolue sans dérogation)",
        parameters=[IF_MATCH],
        request=serializers.DecisionInputSerializer,
        responses={200: serializers.DerogationSerializer, **WRITE_PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def decision(self, request: Request, reference: str) -> Response:
        derogation = self.get_object()
        decided = write_through(
            request,
            serializers.DecisionInputSerializer,
            derogation_services.case_decide,
            version_of=derogation,
            case=derogation,
        )
        return self.answer(decided, 200)

    def answer(self, derogation: DerogationRequest, status: int) -> Response:
        # Read back in the user's scope: what a GET would show, with the new version.
        self.kwargs[self.lookup_field] = derogation.reference
        shown = self.get_object()
        body = self.get_serializer(shown).data
        location = self.request.build_absolute_uri(f"/api/v1/derogations/{shown.reference}/")
        return Response(body, status=status, headers={"ETag": etag_of(shown), "Location": location})


class DerogationOpinions(viewsets.ViewSet):
    """The opinions the ministry asks of other ministries and operators: all of them for the
    reviewing institutions, its own for an organisation consulted."""

    def visible(self, request: Request, reference: str) -> DerogationRequest:
        requests = derogation_lists.derogation_list(request.user, None)
        return get_object_or_404(requests, reference=reference)

    @extend_schema(
        summary="Les avis demandés sur une demande",
        responses={200: serializers.OpinionSerializer(many=True), **READ_PROBLEMS},
    )
    def list(self, request: Request, reference: str) -> Response:
        derogation = self.visible(request, reference)
        opinions = selectors.opinions_for_user(acting_user(request), derogation).order_by("pk")
        return Response(serializers.OpinionSerializer(opinions, many=True).data)

    @extend_schema(
        summary="Demander un avis (le ministère, pendant sa validation)",
        parameters=[IF_MATCH],
        request=serializers.OpinionRequestInputSerializer,
        responses={201: serializers.OpinionSerializer, **WRITE_PROBLEMS},
    )
    def create(self, request: Request, reference: str) -> Response:
        derogation = self.visible(request, reference)
        opinion = write_through(
            request,
            serializers.OpinionRequestInputSerializer,
            derogation_services.opinion_request,
            version_of=derogation,
            case=derogation,
        )
        return Response(serializers.OpinionSerializer(opinion).data, status=201)

    @extend_schema(
        summary="Rendre l'avis demandé à son organisation",
        parameters=[IF_MATCH],
        request=serializers.OpinionAnswerInputSerializer,
        responses={200: serializers.OpinionSerializer, **WRITE_PROBLEMS},
    )
    def answer(self, request: Request, reference: str, pk: int) -> Response:
        derogation = self.visible(request, reference)
        opinion = get_object_or_404(
            selectors.opinions_for_user(acting_user(request), derogation), pk=pk
        )
        answered = write_through(
            request,
            serializers.OpinionAnswerInputSerializer,
            derogation_services.opinion_answer,
            version_of=derogation,
            opinion=opinion,
        )
        return Response(serializers.OpinionSerializer(answered).data)

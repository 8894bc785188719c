"""The API's endpoints: the same selectors, filters and rules as the pages."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.forms import Form
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.actions import IF_MATCH, WRITE_PROBLEMS
from api.authentication import acting_user
from api.pagination import UpdatedCursor
from api.schema import READ_PROBLEMS, problems
from api.versions import etag_of, expected_version
from cases.contracts import lists as contract_lists
from cases.contracts import services as contract_services
from cases.contracts.forms import ContractFilterForm
from cases.contracts.models import ActionSheet, TerritoryContract
from cases.kernel import lists
from cases.kernel.views import SCOPE


def updated_since(request: Request) -> datetime | None:
    raw = request.query_params.get("updated_since")
    if not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            {
                "updated_since": [
                    "Date et heure ISO 8601 avec fuseau attendues, par exemple "
                    "2019-03-05T09:00:00+01:00."
                ]
            }
        )
    return moment


def contract_filters(request: Request) -> dict:
    """The contract list's own filter form, with the choices of the user's scope: the same
    values accepted, the same French refusals."""
    regions, territories, _ = lists.scope_choices(SCOPE.rows(request.user))
    form = ContractFilterForm(
        request.query_params,
        regions=regions,
        territories=territories,
        waves=contract_lists.wave_choices(request.user),
    )
    return valid_filters(form)


def valid_filters(form: Form) -> dict:
    """A list page's filter form, bound to the query: its data, or its French refusals."""
    if not form.is_valid():
        raise ValidationError(
            {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        )
    return form.cleaned_data


CONTRACT_FILTERS = [
    OpenApiParameter(
        "q", str, description="Texte cherché dans l'intitulé, la référence, le territoire."
    ),
    OpenApiParameter("state", str, description="État du contrat (code)."),
    OpenApiParameter(
        "due", str, enum=["late", "soon"], description="Échéance : en retard ou bientôt due."
    ),
    OpenApiParameter("region", int, description="Région pilote (identifiant)."),
    OpenApiParameter("territory", int, description="Territoire (identifiant)."),
    OpenApiParameter("wave", int, description="Vague de contractualisation (identifiant)."),
    OpenApiParameter("axis", str, description="Axe d'une fiche-action."),
    OpenApiParameter("funder", str, description="Financeur d'une ligne de financement."),
    OpenApiParameter("since", OpenApiTypes.DATE, description="Déposé depuis le (inclus)."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Déposé jusqu'au (inclus)."),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="Modifié depuis (ISO 8601, avec fuseau).",
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="Contrats de territoire",
        parameters=CONTRACT_FILTERS,
        responses={200: serializers.ContractSummarySerializer(many=True), **READ_PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="Un contrat, avec ses fiches-actions et leurs financements",
        responses={200: serializers.ContractSerializer, **READ_PROBLEMS},
    ),
    create=extend_schema(
        summary="Créer le brouillon du contrat d'un territoire (agent de l'un de ses EPCI)",
        request=serializers.ContractCreationSerializer,
        responses={201: serializers.ContractSerializer, **problems(400, 401, 403, 409, 429)},
    ),
    partial_update=extend_schema(
        summary="Modifier un contrat en rédaction",
        parameters=[IF_MATCH],
        request=serializers.ContractChangesSerializer,
        responses={200: serializers.ContractSerializer, **WRITE_PROBLEMS},
    ),
)
class ContractViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read by everyone in scope; drafted by the territory's EPCI agents through the services
    (``contract_create``, ``contract_update``), with their rules and messages."""

    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]+"
    pagination_class = UpdatedCursor
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self) -> type[serializers.ContractSummarySerializer]:
        if self.action == "list":
            return serializers.ContractSummarySerializer
        return serializers.ContractSerializer

    def get_queryset(self) -> QuerySet[TerritoryContract]:
        if self.action != "list":
            return contracts_with_fiches(self.request)
        contracts = contract_lists.contract_list(self.request.user, contract_filters(self.request))
        since = updated_since(self.request)
        return contracts.filter(updated_at__gte=since) if since else contracts

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        contract = self.get_object()
        etag = etag_of(contract)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return self.answer(contract, 200)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        given = serializers.ContractCreationSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        contract = contract_services.contract_create(
            territory=fields.pop("territory"), actor=acting_user(request), **fields
        )
        return self.answer(contract, 201)

    def partial_update(self, request: Request, *args: object, **kwargs: object) -> Response:
        contract = self.get_object()
        version = expected_version(request, contract)
        given = serializers.ContractChangesSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        changed = contract_services.contract_update(
            case=contract,
            actor=acting_user(request),
            expected_version=version,
            changes=dict(given.validated_data),
        )
        return self.answer(changed, 200)

    def answer(self, contract: TerritoryContract, status: int) -> Response:
        return contract_response(self.request, str(contract.reference), status)


def contracts_with_fiches(request: Request) -> QuerySet[TerritoryContract]:
    fiches = ActionSheet.objects.order_by("pk").prefetch_related("financings")
    return contract_lists.contract_list(request.user, None).prefetch_related(
        Prefetch("actions", queryset=fiches)
    )


def contract_response(request: Request, reference: str, status: int) -> Response:
    """The contract read back in the user's scope, with its fiches-actions: what a GET would
    show after a write, with the new version as its ETag."""
    shown = get_object_or_404(contracts_with_fiches(request), reference=reference)
    body = serializers.ContractSerializer(shown, context={"request": request}).data
    location = request.build_absolute_uri(f"/api/v1/contracts/{shown.reference}/")
    return Response(body, status=status, headers={"ETag": etag_of(shown), "Location": location})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(request: Request, *args: object, **kwargs: object) -> Response:
    """An address the API does not have: a problem, not the site's HTML page."""
    raise NotFound

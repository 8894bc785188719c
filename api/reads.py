"""What the API reads besides contracts: derogation requests, calls, waves, a case's history
and documents, the user's notifications. Each through the pages' own selector and filters."""

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.actions import visible_case
from api.authentication import acting_user
from api.pagination import UpdatedCursor
from api.schema import READ_PROBLEMS
from cases.derogations.models import CallForProjects
from cases.kernel import documents, selectors
from cases.kernel.documents import ALLOWED_TYPES
from cases.kernel.models import CaseEvent, Document
from cases.waves import selectors as wave_selectors
from cases.waves.models import Wave
from notifications.models import Notification


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = UpdatedCursor.invalid_cursor_message


class CallCursor(Cursor):
    ordering = ("-opens_at", "-id")


class WaveCursor(Cursor):
    ordering = ("-date", "-id")


class EventCursor(Cursor):
    """A history reads from its start, in the order of its chain."""

    ordering = ("seq",)
    page_size = 100
    max_page_size = 500


class NewestCursor(Cursor):
    ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(
        summary="Appels à projets",
        responses={200: serializers.CallSerializer(many=True), **READ_PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="Un appel à projets",
        responses={200: serializers.CallSerializer, **READ_PROBLEMS},
    ),
)
class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """Calls are public: every signed-in user reads them, as on the pages."""

    serializer_class = serializers.CallSerializer
    pagination_class = CallCursor
    queryset = CallForProjects.objects.all()


@extend_schema_view(
    list=extend_schema(
        summary="Vagues de contractualisation",
        responses={200: serializers.WaveSerializer(many=True), **READ_PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="Une vague, avec les contrats que l'utilisateur peut voir",
        responses={200: serializers.WaveDetailSerializer, **READ_PROBLEMS},
    ),
)
class WaveViewSet(viewsets.ReadOnlyModelViewSet):
    """A wave spans several territories: each party reads it with its own contracts only."""

    pagination_class = WaveCursor

    def get_serializer_class(self) -> type[serializers.WaveSerializer]:
        if self.action == "list":
            return serializers.WaveSerializer
        return serializers.WaveDetailSerializer

    def get_queryset(self) -> QuerySet[Wave]:
        return wave_selectors.wave_list_for_user(self.request.user)

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        wave = self.get_object()
        contracts = wave_selectors.wave_contracts_for_user(request.user, wave).values_list(
            "reference", flat=True
        )
        body = serializers.WaveDetailSerializer(
            wave, context={"request": request, "contracts": contracts}
        ).data
        return Response(body, headers={"ETag": f'"w{wave.pk}.{wave.version}"'})


class CaseEvents(generics.ListAPIView):
    """The case's audit events with their hashes: a client can check the chain itself."""

    serializer_class = serializers.EventSerializer
    pagination_class = EventCursor

    @extend_schema(
        summary="L'historique d'un dossier (journal d'audit chaîné)",
        responses={200: serializers.EventSerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[CaseEvent]:
        case = visible_case(self.request, self.kwargs["reference"])
        return selectors.events_for_user(self.request.user, case)


class CaseDocuments(generics.ListAPIView):
    serializer_class = serializers.DocumentSerializer
    pagination_class = NewestCursor

    @extend_schema(
        summary="Les documents d'un dossier",
        responses={200: serializers.DocumentSerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Document]:
        case = visible_case(self.request, self.kwargs["reference"])
        return selectors.documents_for_user(acting_user(self.request), case)


class DocumentDetail(generics.RetrieveAPIView):
    serializer_class = serializers.DocumentSerializer

    @extend_schema(
        summary="Un document (ses métadonnées)",
        responses={200: serializers.DocumentSerializer, **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> Document:
        return get_object_or_404(
            selectors.document_for_user(acting_user(self.request), self.kwargs["pk"])
        )


class DocumentContent(DocumentDetail):
    @extend_schema(
        summary="Télécharger un document",
        responses={
            # Served with the type found in its content at upload, one of those accepted.
            **{
                (200, media_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="Le fichier, tel qu'il a été déposé."
                )
                for media_type in ALLOWED_TYPES
            },
            **READ_PROBLEMS,
        },
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> FileResponse:  # type: ignore[override]
        return documents.download_response(self.get_object())


def since_id(request: Request) -> int | None:
    raw = request.query_params.get("since")
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise ValidationError(
            {"since": ["Un identifiant de notification (nombre entier) est attendu."]}
        )
    return int(raw)


class Notifications(generics.ListAPIView):
    """The token's user's own notifications; ``since`` replays those after an id, as the
    browser does after a disconnection."""

    serializer_class = serializers.NotificationSerializer
    pagination_class = NewestCursor

    @extend_schema(
        summary="Mes notifications",
        parameters=[
            OpenApiParameter(
                "since",
                int,
                description="Seulement celles qui suivent cette notification (identifiant).",
            )
        ],
        responses={200: serializers.NotificationSerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Notification]:
        rows = Notification.objects.filter(recipient=acting_user(self.request)).select_related(
            "case"
        )
        after = since_id(self.request)
        return rows.filter(id__gt=after) if after is not None else rows

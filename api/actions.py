"""What a client does on a case: its transitions and comments, through the services only.

Each write names the version it read (If-Match); the service checks it under the case's lock.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers
from api.authentication import acting_user
from api.schema import READ_PROBLEMS, problems
from api.versions import etag_of, expected_version
from cases.kernel import selectors
from cases.kernel import services as case_services
from cases.kernel.models import Case

WRITE_PROBLEMS = problems(400, 401, 403, 404, 409, 412, 428, 429)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    description='L\'ETag du dossier lu (sa version), par exemple "12.4".',
)


def visible_case(request: Request, reference: str) -> Case:
    """The case (its contract, request or avenant) behind ``reference``, if the user may
    see it."""
    cases: QuerySet[Case] = selectors.cases_for_user(request.user)
    case = get_object_or_404(cases, reference=reference)
    return getattr(case, KIND_ROWS[case.kind])


# Each kind's own row, below the case's (multi-table inheritance).
KIND_ROWS: dict[str, str] = {
    Case.Kind.CONTRACT: "territorycontract",
    Case.Kind.DEROGATION: "derogationrequest",
    Case.Kind.AMENDMENT: "contractamendment",
}


def write_through[Written](
    request: Request,
    given_class: type[drf_serializers.Serializer],
    service: Callable[..., Written],
    *,
    version_of: Case,
    **targets: Any,
) -> Written:
    """Every write's steps: the version the client read of ``version_of`` (If-Match, 428
    before any 400), the validated body, then ``service`` with both, on ``targets``."""
    version = expected_version(request, version_of)
    given = given_class(data=request.data)
    given.is_valid(raise_exception=True)
    return service(
        actor=acting_user(request), expected_version=version, **targets, **given.validated_data
    )


def state_response(request: Request, case: Case, status: int = 200) -> Response:
    body = serializers.CaseStateSerializer(case, context={"request": request}).data
    return Response(body, status=status, headers={"ETag": etag_of(case)})


class CaseTransitions(APIView):
    @extend_schema(
        summary="Les actions possibles sur un dossier",
        responses={200: serializers.AvailableTransitionSerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, reference: str) -> Response:
        case = visible_case(request, reference)
        rows = [
            {
                "name": name,
                "title": case_services.TRANSITION_LABELS[name],
                "comment_required": name in case_services.COMMENT_REQUIRED,
            }
            for name in case_services.available_transitions(case, request.user)
        ]
        return Response(rows, headers={"ETag": etag_of(case)})

    @extend_schema(
        summary="Faire une action sur un dossier (déposer, transmettre, rejeter…)",
        parameters=[IF_MATCH],
        request=serializers.TransitionInputSerializer,
        responses={200: serializers.CaseStateSerializer, **WRITE_PROBLEMS},
    )
    def post(self, request: Request, reference: str) -> Response:
        case = visible_case(request, reference)
        moved = write_through(
            request,
            serializers.TransitionInputSerializer,
            case_services.run_transition,
            version_of=case,
            case=case,
        )
        return state_response(request, moved)


class CaseComments(APIView):
    @extend_schema(
        summary="Commenter un dossier (ou une note interne, pour la Région et le ministère)",
        parameters=[IF_MATCH],
        request=serializers.CommentInputSerializer,
        responses={201: serializers.CommentSerializer, **WRITE_PROBLEMS},
    )
    def post(self, request: Request, reference: str) -> Response:
        case = visible_case(request, reference)
        comment = write_through(
            request,
            serializers.CommentInputSerializer,
            case_services.comment_add,
            version_of=case,
            case=case,
        )
        return Response(serializers.CommentSerializer(comment).data, status=201)

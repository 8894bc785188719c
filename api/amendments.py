"""A contract's avenants, read only: what each proposes and how far it differs from the
version it amends. Whoever sees the avenant's page reads it; its actions (submit, review,
sign-off, withdrawal) go through ``/api/v1/cases/<reference>/transitions/`` like any case,
and its proposal is drafted on the site."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.pagination import UpdatedCursor
from api.schema import READ_PROBLEMS
from api.versions import etag_of
from cases.contracts import selectors as contract_selectors
from cases.contracts.models import ContractAmendment


@extend_schema_view(
    list=extend_schema(
        summary="Avenants",
        parameters=[
            OpenApiParameter("contract", str, description="Référence du contrat modifié."),
        ],
        responses={200: serializers.AmendmentSummarySerializer(many=True), **READ_PROBLEMS},
    ),
    retrieve=extend_schema(
        summary="Un avenant, avec son contenu proposé et son écart avec la version modifiée",
        responses={200: serializers.AmendmentSerializer, **READ_PROBLEMS},
    ),
)
class AmendmentViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]+"
    pagination_class = UpdatedCursor

    def get_serializer_class(self) -> type[serializers.AmendmentSummarySerializer]:
        if self.action == "list":
            return serializers.AmendmentSummarySerializer
        return serializers.AmendmentSerializer

    def get_queryset(self) -> QuerySet[ContractAmendment]:
        amendments = contract_selectors.amendments_for_user(self.request.user).select_related(
            "parent", "territory__pilot_region"
        )
        contract = self.request.query_params.get("contract")
        return amendments.filter(parent__reference=contract) if contract else amendments

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        amendment = self.get_object()
        etag = etag_of(amendment)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        body = self.get_serializer(amendment).data
        return Response(body, headers={"ETag": etag})

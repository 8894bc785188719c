"""A contract's versions and signatures, read only: what its signatories signed, and who has.

Whoever sees the contract's page reads them, as on its page; an avenant's signatories only
for whoever sees that avenant. Signatures are recorded on the site (the signature form).
"""

from django.db.models import F, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers
from api.fiches import visible_contract
from api.reads import Cursor
from api.schema import READ_PROBLEMS
from cases.contracts import selectors as contract_selectors
from cases.contracts.models import ContractVersion, Signature
from cases.kernel.models import State


class VersionCursor(Cursor):
    ordering = ("number",)


class SignatureCursor(Cursor):
    ordering = ("id",)


class ContractVersions(generics.ListAPIView):
    serializer_class = serializers.VersionSummarySerializer
    pagination_class = VersionCursor

    @extend_schema(
        summary="Les versions d'un contrat",
        description="La version 1 est faite à la contractualisation ; chaque avenant signé en "
        "fait une nouvelle. Aucune avant la vague.",
        responses={200: serializers.VersionSummarySerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[ContractVersion]:
        contract = visible_contract(self.request, self.kwargs["reference"])
        return contract.versions.select_related("contract", "amendment")


class ContractVersionDetail(generics.RetrieveAPIView):
    serializer_class = serializers.VersionSerializer

    @extend_schema(
        summary="Une version d'un contrat, avec son contenu et son empreinte",
        responses={200: serializers.VersionSerializer, **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> ContractVersion:
        contract = visible_contract(self.request, self.kwargs["reference"])
        versions = contract.versions.select_related("contract", "amendment")
        return get_object_or_404(versions, number=self.kwargs["number"])


class ContractSignatures(generics.ListAPIView):
    serializer_class = serializers.SignatureSerializer
    pagination_class = SignatureCursor

    @extend_schema(
        summary="Les signataires d'un contrat, version par version",
        description="Ceux de chaque version, signés ou non (`signed`), et ceux qu'attend un "
        "avenant validé par le ministère pour la version suivante.",
        responses={200: serializers.SignatureSerializer(many=True), **READ_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Signature]:
        contract = visible_contract(self.request, self.kwargs["reference"])
        # An avenant's signatories while it awaits them and once it took effect; not those of
        # one withdrawn meanwhile, which no version will ever have.
        amendments = contract_selectors.amendments_for_user(self.request.user).filter(
            state__in=[State.SIGNED_OFF, State.SIGNED]
        )
        return (
            Signature.objects.filter(contract=contract)
            .filter(
                Q(amendment__isnull=True, version__lte=F("contract__version_number"))
                | Q(amendment__in=amendments)
            )
            .select_related("amendment")
        )

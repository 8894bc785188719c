"""What a client writes inside a contract: its fiches-actions with their financing lines, the
funders' answers to those lines, and the documents of any case. Each through the services,
with the version the client read (If-Match); the answer is the contract read back."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import reads, serializers
from api.actions import IF_MATCH, WRITE_PROBLEMS, visible_case, write_through
from api.authentication import acting_user
from api.schema import problems
from api.versions import expected_version
from api.views import contract_response
from cases.contracts import commitments
from cases.contracts import lists as contract_lists
from cases.contracts import services as contract_services
from cases.contracts.models import FinancingLine, TerritoryContract
from cases.kernel import permissions as perms
from cases.kernel import services as case_services
from cases.kernel import uploads

CONTRACT_ANSWER = {200: serializers.ContractSerializer, **WRITE_PROBLEMS}


def visible_contract(request: Request, reference: str) -> TerritoryContract:
    return get_object_or_404(contract_lists.contract_list(request.user, None), reference=reference)


def action_input(request: Request) -> tuple[dict, list[dict]]:
    given = serializers.ActionInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    fields = dict(given.validated_data)
    financings = [dict(row) for row in fields.pop("financings")]
    return fields, financings


class ContractActions(APIView):
    @extend_schema(
        summary="Ajouter une fiche-action, avec ses financements demandés",
        parameters=[IF_MATCH],
        request=serializers.ActionInputSerializer,
        responses={201: serializers.ContractSerializer, **WRITE_PROBLEMS},
    )
    def post(self, request: Request, reference: str) -> Response:
        contract = visible_contract(request, reference)
        version = expected_version(request, contract)
        fields, financings = action_input(request)
        contract_services.action_save(
            case=contract,
            actor=acting_user(request),
            expected_version=version,
            fields=fields,
            financings=financings,
        )
        return contract_response(request, reference, 201)


class ContractAction(APIView):
    @extend_schema(
        summary="Remplacer une fiche-action et ses financements",
        description="Une ligne nommée par `line` garde la réponse de son financeur si ni le "
        "financeur ni le montant ne changent ; les lignes non nommées sont retirées.",
        parameters=[IF_MATCH],
        request=serializers.ActionInputSerializer,
        responses=CONTRACT_ANSWER,
    )
    def put(self, request: Request, reference: str, pk: int) -> Response:
        contract = visible_contract(request, reference)
        version = expected_version(request, contract)
        fields, financings = action_input(request)
        contract_services.action_save(
            case=contract,
            actor=acting_user(request),
            expected_version=version,
            fields=fields,
            financings=financings,
            action_id=pk,
        )
        return contract_response(request, reference, 200)

    @extend_schema(
        summary="Supprimer une fiche-action",
        parameters=[IF_MATCH],
        request=None,
        responses=CONTRACT_ANSWER,
    )
    def delete(self, request: Request, reference: str, pk: int) -> Response:
        contract = visible_contract(request, reference)
        version = expected_version(request, contract)
        contract_services.action_delete(
            case=contract, actor=acting_user(request), expected_version=version, action_id=pk
        )
        return contract_response(request, reference, 200)


def visible_line(
    request: Request, reference: str, pk: int
) -> tuple[TerritoryContract, FinancingLine]:
    """A line of a contract the user may see; only its funder may answer it (the service)."""
    contract = visible_contract(request, reference)
    line = get_object_or_404(
        FinancingLine.objects.select_related("action"), pk=pk, action__contract=contract
    )
    return contract, line


class LineCommitment(APIView):
    @extend_schema(
        summary="Engager (ou ajuster) un financement demandé à son organisation",
        parameters=[IF_MATCH],
        request=serializers.CommitmentInputSerializer,
        responses=CONTRACT_ANSWER,
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        contract, line = visible_line(request, reference, pk)
        write_through(
            request,
            serializers.CommitmentInputSerializer,
            commitments.financing_commit,
            version_of=contract,
            line=line,
        )
        return contract_response(request, reference, 200)


class LineDecline(APIView):
    @extend_schema(
        summary="Décliner un financement demandé à son organisation",
        parameters=[IF_MATCH],
        request=serializers.DeclineInputSerializer,
        responses=CONTRACT_ANSWER,
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        contract, line = visible_line(request, reference, pk)
        write_through(
            request,
            serializers.DeclineInputSerializer,
            commitments.financing_decline,
            version_of=contract,
            line=line,
        )
        return contract_response(request, reference, 200)


class CaseDocuments(reads.CaseDocuments):
    """The case's documents (read), and one more (multipart: the only body not in JSON)."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Déposer un document sur un dossier (envoi multipart/form-data)",
        parameters=[IF_MATCH],
        request={"multipart/form-data": serializers.DocumentInputSerializer},
        responses={201: serializers.DocumentSerializer, **WRITE_PROBLEMS, **problems(415)},
    )
    def post(self, request: Request, reference: str) -> Response:
        case = visible_case(request, reference)
        user = acting_user(request)
        # Before the body is read, as on the page: who may only read the case cannot fill
        # the disk.
        if not perms.can_upload(user, case):
            raise case_services.ActionForbidden(
                "Vous ne pouvez pas ajouter de document à ce dossier."
            )
        version = expected_version(request, case)
        given = serializers.DocumentInputSerializer(data=request.data)
        if uploads.refused(request):
            raise case_services.InvalidInput(uploads.too_big_message(), field="file")
        given.is_valid(raise_exception=True)
        document = case_services.document_add(
            case=case, actor=user, upload=given.validated_data["file"], expected_version=version
        )
        body = serializers.DocumentSerializer(document, context={"request": request}).data
        return Response(body, status=201)

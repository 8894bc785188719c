"""What the API shows of a case: read-only representations; writes go through the services."""

from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organisation, User
from cases.contracts import amendments
from cases.contracts.forms import MAX_FINANCING_LINES
from cases.contracts.models import (
    ActionSheet,
    Axis,
    ContractAmendment,
    ContractVersion,
    FinancingLine,
    Funder,
    Signature,
    TerritoryContract,
)
from cases.contracts.versions import ContentDiff, plain
from cases.derogations.models import (
    CallForProjects,
    DerogationRequest,
    Outcome,
    RegionOpinion,
    RuleKind,
)
from cases.derogations.services import REQUEST_FIELDS
from cases.kernel.models import Case, CaseEvent, Document, Opinion, OpinionVerdict
from cases.kernel.services import available_transitions
from cases.waves.models import Wave
from notifications.models import Notification
from territories.models import Region, Territory


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name"]


class TerritorySerializer(serializers.ModelSerializer):
    pilot_region = RegionSerializer(read_only=True)

    class Meta:
        model = Territory
        fields = ["id", "code", "name", "pilot_region"]


class FinancingLineSerializer(serializers.ModelSerializer):
    funder_label = serializers.CharField(source="get_funder_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = FinancingLine
        fields = [
            "id",
            "funder",
            "funder_label",
            "amount",
            "status",
            "status_label",
            "committed_amount",
            "committed_on",
            "note",
            "answered_at",
        ]


class ActionSheetSerializer(serializers.ModelSerializer):
    axis_label = serializers.CharField(source="get_axis_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    financings = FinancingLineSerializer(many=True, read_only=True)

    class Meta:
        model = ActionSheet
        fields = [
            "id",
            "title",
            "axis",
            "axis_label",
            "project_owner",
            "description",
            "total_cost",
            "schedule",
            "status",
            "status_label",
            "financings",
        ]


CASE_FIELDS = [
    "reference",
    "state",
    "state_label",
    "version",
    "territory",
    "created_at",
    "updated_at",
    "submitted_at",
    "due_on",
    "page",
]


def absolute(context: Mapping[str, Any], url: str) -> str:
    """A site address as the client reached the API: absolute when a request is known."""
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class CaseFieldsMixin(serializers.Serializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    territory = TerritorySerializer(read_only=True)
    page = serializers.SerializerMethodField(help_text="La page du dossier sur le site.")

    def get_page(self, case: Case) -> str:
        return absolute(self.context, case.get_absolute_url())


CONTRACT_FIELDS = [
    *CASE_FIELDS,
    "title",
    "summary",
    "period_start",
    "period_end",
    "elected_lead_name",
    "elected_lead_role",
    "industrial_lead_name",
    "industrial_lead_role",
    "signed_off_at",
    "contractualised_at",
]


class ContractSummarySerializer(CaseFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = TerritoryContract
        fields = CONTRACT_FIELDS
        read_only_fields = CONTRACT_FIELDS


class ContractSerializer(ContractSummarySerializer):
    actions = ActionSheetSerializer(many=True, read_only=True)

    class Meta(ContractSummarySerializer.Meta):
        fields = [*CONTRACT_FIELDS, "actions"]
        read_only_fields = fields


# What a client sends. These serializers only read and check the input's shape; the services
# decide and write (never ``save()``), with the same rules and messages as the pages.
class ContractChangesSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    summary = serializers.CharField(required=False, allow_blank=True)
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)
    elected_lead_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    elected_lead_role = serializers.CharField(max_length=200, required=False, allow_blank=True)
    industrial_lead_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    industrial_lead_role = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ContractCreationSerializer(ContractChangesSerializer):
    territory = serializers.PrimaryKeyRelatedField(
        queryset=Territory.objects.all(),
        error_messages={"does_not_exist": "Territoire inconnu : {pk_value}."},
    )


class TransitionInputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Le code de l'action, parmi celles que liste GET.")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class AvailableTransitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    # Not "label": a serializer is a field, whose label is its own.
    title = serializers.CharField(help_text="L'action en français.")
    comment_required = serializers.BooleanField()


class CaseStateSerializer(serializers.Serializer):
    reference = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    version = serializers.IntegerField()
    transitions = serializers.SerializerMethodField(
        help_text="Les actions que l'utilisateur peut faire maintenant sur le dossier."
    )

    def get_transitions(self, case: Case) -> list[str]:
        return available_transitions(case, self.context["request"].user)


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10_000)
    private = serializers.BooleanField(required=False, default=False)


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    body = serializers.CharField()
    private = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallForProjects
        fields = ["id", "name", "description", "opens_at", "closes_at"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind"]
        read_only_fields = fields


DEROGATION_FIELDS = [
    *CASE_FIELDS,
    "call",
    "applicant",
    *REQUEST_FIELDS,
    "region_opinion",
    "region_opinion_reasons",
    "outcome",
    "outcome_label",
    "decision_motivation",
    "decision_legal_basis",
    "granted_duration_months",
    "granted_conditions",
    "solution",
    "decided_at",
    "contract",
]


def blank_choice(choices: list[tuple[str, str]], until: str) -> serializers.ChoiceField:
    """DRF drops ``allow_blank`` from read-only model fields: declared here, the schema says
    that the field is empty until something happens, and a client's validator agrees."""
    return serializers.ChoiceField(
        choices=choices, allow_blank=True, read_only=True, help_text=f"Vide {until}."
    )


class DerogationSerializer(CaseFieldsMixin, serializers.ModelSerializer):
    region_opinion = blank_choice(
        RegionOpinion.choices, "tant que la Région n'a pas rendu son avis"
    )
    outcome = blank_choice(Outcome.choices, "tant que le ministère n'a pas décidé")
    call = CallSerializer(read_only=True)
    applicant = OrganisationSerializer(read_only=True)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    contract: serializers.SlugRelatedField[TerritoryContract] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True
    )

    class Meta:
        model = DerogationRequest
        fields = DEROGATION_FIELDS
        read_only_fields = DEROGATION_FIELDS


class WaveSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    contract_count = serializers.IntegerField(
        read_only=True, help_text="Les contrats de la vague que l'utilisateur peut voir."
    )

    class Meta:
        model = Wave
        fields = [
            "id",
            "name",
            "date",
            "place",
            "description",
            "state",
            "state_label",
            "version",
            "created_at",
            "updated_at",
            "validated_at",
            "cancelled_at",
            "contract_count",
        ]
        read_only_fields = fields


class WaveDetailSerializer(WaveSerializer):
    contracts = serializers.SerializerMethodField(
        help_text="Les références des contrats de la vague que l'utilisateur peut voir."
    )

    class Meta(WaveSerializer.Meta):
        fields = [*WaveSerializer.Meta.fields, "contracts"]
        read_only_fields = fields

    def get_contracts(self, wave: Wave) -> list[str]:
        return list(self.context["contracts"])


class EventSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="label", read_only=True)
    actor = serializers.SerializerMethodField()
    from_state_label = serializers.CharField(source="from_label", read_only=True)
    to_state_label = serializers.CharField(source="to_label", read_only=True)

    class Meta:
        model = CaseEvent
        fields = [
            "seq",
            "kind",
            "name",
            "kind_label",
            "actor",
            "created_at",
            "from_state",
            "from_state_label",
            "to_state",
            "to_state_label",
            "comment",
            "private",
            "payload",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    def get_actor(self, event: CaseEvent) -> str | None:
        return str(event.actor) if event.actor is not None else None


class DocumentSerializer(serializers.ModelSerializer):
    uploaded_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        read_only=True
    )
    download = serializers.SerializerMethodField(help_text="L'adresse du fichier dans l'API.")

    class Meta:
        model = Document
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "private",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, document: Document) -> str:
        return absolute(self.context, f"/api/v1/documents/{document.pk}/content/")


class NotificationSerializer(serializers.ModelSerializer):
    case: serializers.SlugRelatedField[Case] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True
    )

    class Meta:
        model = Notification
        fields = ["id", "seq", "kind", "text", "link", "case", "created_at", "read_at"]
        read_only_fields = fields


class DerogationChangesSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company_siret = serializers.CharField(max_length=14, required=False, allow_blank=True)
    rule_kind = serializers.ChoiceField(choices=RuleKind.choices, required=False)
    rule_reference = serializers.CharField(max_length=300, required=False, allow_blank=True)
    rule_text = serializers.CharField(required=False, allow_blank=True)
    derogation_requested = serializers.CharField(required=False, allow_blank=True)
    justification = serializers.CharField(required=False, allow_blank=True)
    expected_jobs = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    expected_investment = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    duration_months = serializers.IntegerField(
        min_value=6, max_value=60, required=False, allow_null=True
    )
    evaluation_plan = serializers.CharField(required=False, allow_blank=True)


class DerogationCreationSerializer(DerogationChangesSerializer):
    territory = serializers.PrimaryKeyRelatedField(
        queryset=Territory.objects.all(),
        error_messages={"does_not_exist": "Territoire inconnu : {pk_value}."},
    )
    call = serializers.PrimaryKeyRelatedField(
        queryset=CallForProjects.objects.all(),
        error_messages={"does_not_exist": "Appel à projets inconnu : {pk_value}."},
    )
    rule_kind = serializers.ChoiceField(choices=RuleKind.choices)


class RegionOpinionInputSerializer(serializers.Serializer):
    opinion = serializers.ChoiceField(choices=RegionOpinion.choices)
    reasons = serializers.CharField(max_length=10_000)


class DecisionInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    motivation = serializers.CharField(max_length=10_000)
    legal_basis = serializers.CharField(max_length=10_000)
    granted_duration_months = serializers.IntegerField(
        min_value=1, max_value=60, required=False, allow_null=True, default=None
    )
    granted_conditions = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default=""
    )
    solution = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default=""
    )


class OpinionSerializer(serializers.ModelSerializer):
    verdict = blank_choice(OpinionVerdict.choices, "tant que l'avis n'est pas rendu")
    organisation = OrganisationSerializer(read_only=True)
    verdict_label = serializers.CharField(source="get_verdict_display", read_only=True)
    answered_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        read_only=True
    )

    class Meta:
        model = Opinion
        fields = [
            "id",
            "organisation",
            "question",
            "due_on",
            "requested_at",
            "verdict",
            "verdict_label",
            "text",
            "answered_by",
            "answered_at",
        ]
        read_only_fields = fields


class OpinionRequestInputSerializer(serializers.Serializer):
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(),
        error_messages={"does_not_exist": "Organisation inconnue : {pk_value}."},
    )
    due_on = serializers.DateField()
    question = serializers.CharField(max_length=10_000, required=False, allow_blank=True)


class OpinionAnswerInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=OpinionVerdict.choices)
    text = serializers.CharField(max_length=10_000)


class FinancingInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="La ligne modifiée (sa réponse est gardée si ni le financeur ni le montant "
        "ne changent) ; sans elle, une ligne ajoutée.",
    )
    funder = serializers.ChoiceField(choices=Funder.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))


class ActionInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    axis = serializers.ChoiceField(choices=Axis.choices)
    project_owner = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    total_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False
    )
    schedule = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=ActionSheet.Status.choices, required=False)
    # The list serializer's own bound (DRF 3.14), which the stubs do not know yet.
    financings = FinancingInputSerializer(
        many=True,
        required=False,
        default=list,
        max_length=MAX_FINANCING_LINES,  # type: ignore[call-arg]
    )


class CommitmentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"))
    committed_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DeclineInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DocumentInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="Le fichier (PDF, image, bureautique).")


class VersionSummarySerializer(serializers.ModelSerializer):
    amendment = serializers.CharField(
        source="amendment.reference",
        read_only=True,
        allow_null=True,
        help_text="La référence de l'avenant qui a fait cette version ; aucune pour la version 1.",
    )
    page = serializers.SerializerMethodField(help_text="La page de la version sur le site.")

    class Meta:
        model = ContractVersion
        fields = [
            "number",
            "created_at",
            "content_hash",
            "cost_total",
            "requested_total",
            "committed_total",
            "amendment",
            "page",
        ]
        read_only_fields = fields

    def get_page(self, version: ContractVersion) -> str:
        url = reverse("contract-version", args=[version.contract.reference, version.number])
        return absolute(self.context, url)


class VersionSerializer(VersionSummarySerializer):
    content = serializers.JSONField(
        read_only=True,
        help_text="Le contenu de la version : champs du contrat, fiches-actions et lignes "
        "de financement, montants en texte. `content_hash` est le SHA-256 de ce JSON écrit "
        "clés triées, sans espaces (séparateurs `,` et `:`), caractères non ASCII tels quels, "
        "en UTF-8. La version 1 est celle que ses signataires ont signée ; les signataires d'un "
        "avenant ont signé son contenu proposé, qui devient la version suivante (les lignes "
        "modifiées y sont engagées par le financeur qui a signé).",
    )

    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "content"]
        read_only_fields = fields


class SignatureSerializer(serializers.ModelSerializer):
    party_label = serializers.CharField(source="get_party_display", read_only=True)
    amendment = serializers.CharField(
        source="amendment.reference",
        read_only=True,
        allow_null=True,
        help_text="L'avenant dont cette signature fera la version suivante, s'il y en a un.",
    )
    signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Signature
        fields = [
            "id",
            "version",
            "amendment",
            "party",
            "party_label",
            "party_ref",
            "label",
            "signed",
            "signed_on",
            "signer_name",
            "signer_role",
            "authority",
            "recorded_at",
        ]
        read_only_fields = fields


def changes_data(diff: ContentDiff) -> dict:
    """An avenant's changes from the version it amends, for a client; amounts as text, as in
    a version's content (a float would round them)."""
    return {
        "fields": [asdict(change) for change in diff.fields],
        "actions": [
            {
                "kind": change.kind,
                "title": change.title,
                "axis": change.axis,
                "fields": [asdict(field) for field in change.fields],
                "lines": [
                    {
                        "funder": line.funder,
                        "funder_label": str(line.label),
                        "before": plain(line.before),
                        "after": plain(line.after),
                    }
                    for line in change.lines
                ],
            }
            for change in diff.actions
        ],
        "funders": [
            {
                "funder": funder.funder,
                "funder_label": str(funder.label),
                "before": plain(funder.before),
                "after": plain(funder.after),
                "change": plain(funder.delta),
            }
            for funder in diff.funders
        ],
    }


AMENDMENT_FIELDS = [*CASE_FIELDS, "contract", "number", "base_version", "purpose"]


class AmendmentSummarySerializer(CaseFieldsMixin, serializers.ModelSerializer):
    contract = serializers.CharField(
        source="parent.reference", read_only=True, help_text="La référence du contrat modifié."
    )

    class Meta:
        model = ContractAmendment
        fields = AMENDMENT_FIELDS
        read_only_fields = fields


class AmendmentSerializer(AmendmentSummarySerializer):
    proposal = serializers.JSONField(
        read_only=True,
        help_text="Le contenu du contrat tel que l'avenant le propose (comme celui d'une version).",
    )
    changes = serializers.SerializerMethodField(
        help_text="L'écart avec la version modifiée : champs, fiches-actions ajoutées, "
        "modifiées ou retirées ligne par ligne, et montants par financeur."
    )

    class Meta(AmendmentSummarySerializer.Meta):
        fields = [*AMENDMENT_FIELDS, "proposal", "changes"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_changes(self, amendment: ContractAmendment) -> dict:
        return changes_data(amendments.diff_of(amendment))

"""What the API shows of a case: read-only representations; writes go through the services."""

from rest_framework import serializers

from cases.contracts.models import ActionSheet, FinancingLine, TerritoryContract
from cases.kernel.models import Case
from cases.kernel.services import available_transitions
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


class CaseFieldsMixin(serializers.Serializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    territory = TerritorySerializer(read_only=True)
    page = serializers.SerializerMethodField(help_text="La page du dossier sur le site.")

    def get_page(self, case: Case) -> str:
        request = self.context.get("request")
        url = case.get_absolute_url()
        return request.build_absolute_uri(url) if request is not None else url


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

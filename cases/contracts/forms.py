"""The forms of territory contracts, fiches-actions and financing lines, and of their lists."""

from typing import cast

from django import forms

from cases.contracts.models import (
    ActionSheet,
    Axis,
    ContractAmendment,
    FinancingLine,
    Funder,
    TerritoryContract,
)
from cases.kernel.forms import (
    DATE_WIDGET,
    STATE_CHOICES,
    UNKNOWN_REGION,
    AmountField,
    CaseFilterForm,
    ListFilterForm,
    MergeableForm,
    QuickTextInput,
    VersionedForm,
    code_choice,
    digest,
    pk_choice,
    plain_text_formfield,
)
from cases.kernel.models import PLAIN_TEXT


class ContractForm(MergeableForm):
    class Meta:
        model = TerritoryContract
        formfield_callback = plain_text_formfield
        fields = [
            "title",
            "summary",
            "period_start",
            "period_end",
            "elected_lead_name",
            "elected_lead_role",
            "industrial_lead_name",
            "industrial_lead_role",
        ]
        widgets = {
            "period_start": DATE_WIDGET,
            "period_end": DATE_WIDGET,
            "summary": forms.Textarea(attrs={"rows": 4}),
        }

    def clean(self):
        cleaned = super().clean() or {}
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", "La fin du contrat doit suivre son début.")
        return cleaned


class ContractCreateForm(ContractForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    territory: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, label="Territoire", empty_label="Choisissez le territoire"
    )

    class Meta(ContractForm.Meta):
        fields = ["territory", *ContractForm.Meta.fields]

    def __init__(self, *args, territories, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["territory"]).queryset = territories
        self.order_fields(["territory"])


class ActionForm(MergeableForm):
    # Its lines are in the formset beside it: a colleague who changed them meanwhile makes
    # the whole fiche one to reload, not to merge.
    def digests_of(self, instance) -> dict[str, str]:
        return {**super().digests_of(instance), "lines": lines_digest(instance)}

    def mergeable(self, current) -> bool:
        return current is None or self.base_digests().get("lines") == lines_digest(current)

    class Meta:
        model = ActionSheet
        formfield_callback = plain_text_formfield
        fields = [
            "title",
            "axis",
            "project_owner",
            "description",
            "total_cost",
            "schedule",
            "status",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"total_cost": "En euros, par exemple 125\u00a0000,50."}
        field_classes = {"total_cost": AmountField}


def lines_digest(action: ActionSheet) -> str:
    lines = action.financings.order_by("pk").values_list("pk", "funder", "amount", "status")
    return digest([(pk, funder, digest(amount), status) for pk, funder, amount, status in lines])


class FinancingForm(forms.Form):
    """A line the EPCI requests: who is asked, for how much. No status: the funder answers
    (``cases.contracts.commitments``). ``line`` names the line edited, so that its answer is
    kept."""

    line = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    funder = forms.ChoiceField(
        label="Financeur", choices=[("", "—"), *Funder.choices], required=False
    )
    amount = AmountField(label="Montant demandé (€)", required=False)

    def clean(self):
        cleaned = super().clean() or {}
        funder, amount = cleaned.get("funder"), cleaned.get("amount")
        if funder and amount is None:
            self.add_error("amount", "Indiquez le montant de ce financement.")
        if amount is not None and not funder:
            self.add_error("funder", "Indiquez qui apporte ce financement.")
        return cleaned

    @property
    def is_blank(self) -> bool:
        return not self.cleaned_data.get("funder")


# A sanity cap, not a limit anyone should meet: a fiche-action has a few funders.
MAX_FINANCING_LINES = 200


class BaseFinancingFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": f"Une fiche-action compte au plus {MAX_FINANCING_LINES} financements.",
    }


FinancingFormSet = forms.formset_factory(
    FinancingForm,
    formset=BaseFinancingFormSet,
    extra=2,
    max_num=MAX_FINANCING_LINES,
    absolute_max=MAX_FINANCING_LINES,
    validate_max=True,
)
FINANCING_KEYS = ("line", "funder", "amount")


def financing_formset_plus_one(data, prefix: str = "fin"):
    """The typed lines and one empty line more, unbound so that nothing is checked yet."""
    try:
        count = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
    except ValueError:
        count = 0
    count = max(0, min(count, MAX_FINANCING_LINES - 1))
    lines = [
        {key: data.get(f"{prefix}-{index}-{key}", "") for key in FINANCING_KEYS}
        for index in range(count)
    ]
    formset = FinancingFormSet(initial=lines, prefix=prefix)
    formset.extra = 1
    return formset


def financing_rows(formset) -> list[dict]:
    return [
        {key: form.cleaned_data.get(key) for key in FINANCING_KEYS}
        for form in formset
        if form.cleaned_data and not form.is_blank
    ]


def initial_financings(lines) -> list[dict]:
    return [{"line": line.pk, "funder": line.funder, "amount": line.amount} for line in lines]


def attach_answers(formset, lines) -> None:
    """Give each form of the formset the line it edits (``form.answered``) when its funder
    answered it, so that the page says what changing it would reset."""
    answered = {str(line.pk): line for line in lines if line.status != "requested"}
    for form in formset:
        form.answered = answered.get(str(form["line"].value() or ""))


class FinancingAnswerForm(VersionedForm):
    """What a funder answers on one of its lines: commit (amount, date) or decline."""

    decision = forms.ChoiceField(
        choices=[("commit", "Engager"), ("decline", "Décliner")], widget=forms.HiddenInput
    )
    amount = AmountField(
        label="Montant engagé (€)",
        help_text="En euros, par exemple 12\u00a0000,50.",
        error_messages={"required": "Indiquez le montant engagé."},
    )
    committed_on = forms.DateField(
        label="Date de l'engagement",
        widget=DATE_WIDGET,
        error_messages={
            "required": "Indiquez la date de l'engagement.",
            "invalid": "Saisissez une date valide, par exemple 05/03/2019.",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=5_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Conditions, référence de la décision… Lue par l'intercommunalité et la Région.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get("decision") == "decline":
            # Declining asks for no amount nor date; whatever the form still holds is ignored.
            for name in ("amount", "committed_on"):
                self.fields[name].required = False

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "decline":
            for name in ("amount", "committed_on"):
                self.errors.pop(name, None)
        return cleaned


UNKNOWN_FUNDER = "Choisissez un financeur de la liste."
UNKNOWN_WAVE = "Cette vague n'est pas dans la liste : choisissez-en une de la liste."


class ContractFilterForm(CaseFilterForm):
    q = forms.CharField(
        label="Recherche",
        required=False,
        max_length=100,
        validators=PLAIN_TEXT,
        widget=QuickTextInput,
    )
    state = code_choice("État", "Tous", STATE_CHOICES, "Choisissez un état de la liste.")
    region = pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
    territory = pk_choice(
        "Territoire",
        "Tous",
        "Ce territoire n'est pas dans la liste : choisissez-en un de votre périmètre.",
    )
    wave = pk_choice("Vague", "Toutes", UNKNOWN_WAVE)
    axis = code_choice("Axe", "Tous", Axis.choices, "Choisissez un axe de la liste.")
    funder = code_choice("Financeur", "Tous", Funder.choices, UNKNOWN_FUNDER)
    field_order = [
        "q", "state", "due", "region", "territory", "wave", "axis", "funder", "since", "until",
        "sort",
    ]  # fmt: skip

    def __init__(self, *args, regions, territories, waves, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("region", regions)
        self.set_choices("territory", territories)
        self.set_choices("wave", waves)


class ActionFilterForm(ListFilterForm):
    region = pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
    axis = code_choice("Axe", "Tous", Axis.choices, "Choisissez un axe de la liste.")
    status = code_choice(
        "Statut de la fiche",
        "Tous",
        ActionSheet.Status.choices,
        "Choisissez un statut de la liste.",
    )
    funder = code_choice("Financeur", "Tous", Funder.choices, UNKNOWN_FUNDER)
    line_status = code_choice(
        "Statut du financement",
        "Tous",
        FinancingLine.Status.choices,
        "Choisissez un statut de financement de la liste.",
    )
    wave = pk_choice("Vague", "Toutes", UNKNOWN_WAVE)
    state = code_choice("État du contrat", "Tous", STATE_CHOICES, "Choisissez un état de la liste.")
    field_order = [
        "region", "axis", "status", "funder", "line_status", "wave", "state", "since", "until",
    ]  # fmt: skip

    def __init__(self, *args, regions, waves, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("region", regions)
        self.set_choices("wave", waves)


class SignatureForm(VersionedForm):
    """Who signs for a party, when, on whose authority."""

    signer_name = forms.CharField(
        label="Nom de la personne qui signe", max_length=200, validators=PLAIN_TEXT
    )
    signer_role = forms.CharField(
        label="Sa qualité",
        max_length=200,
        validators=PLAIN_TEXT,
        help_text="Par exemple : président de la communauté de communes, préfet de région",
    )
    signed_on = forms.DateField(label="Date de la signature", widget=DATE_WIDGET)
    authority = forms.CharField(
        label="Délibération ou délégation",
        max_length=300,
        validators=PLAIN_TEXT,
        help_text="Par exemple : délibération n° 2019-12 du conseil communautaire du 1er mars 2019",
    )


class AmendmentOpenForm(forms.Form):
    purpose = forms.CharField(
        label="Objet de l'avenant",
        required=False,
        max_length=5_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Ce que l'avenant change, et pourquoi. Modifiable jusqu'au dépôt.",
    )


class AmendmentForm(MergeableForm):
    purpose = AmendmentOpenForm.base_fields["purpose"]

    class Meta:
        model = ContractAmendment
        fields = ["purpose"]

import html
import re
from decimal import Decimal
from typing import cast

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import SafeData, mark_safe

from cases.documents import SIZE_HINT
from cases.models import (
    DUE_SOON_DAYS,
    PLAIN_TEXT,
    ActionSheet,
    Axis,
    CallForProjects,
    DerogationRequest,
    FinancingLine,
    Funder,
    OpinionVerdict,
    Outcome,
    RegionOpinion,
    State,
    TerritoryContract,
)
from cases.validators import validate_plain_text

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT_ERROR = "Saisissez un montant en euros, par exemple 12\u00a0000,50."
# The spaces people type between thousands: plain, no-break, narrow no-break, thin.
_AMOUNT_SPACES = re.compile(r"[ \u00a0\u202f\u2009\u2007]")
_AMOUNT = re.compile(r"-?\d+(?:[.,]\d+)?")


class AmountField(forms.DecimalField):
    """An amount in euros as people type it: « 12 000,50 », « 12000.50 », « 12 000 € »."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.pop("localize", None)
        kwargs["widget"] = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", AMOUNT_ERROR)
        kwargs["error_messages"].setdefault("min_value", "Le montant ne peut pas être négatif.")
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = _AMOUNT_SPACES.sub("", str(value).strip()).removesuffix("€").removesuffix("EUR")
        if not _AMOUNT.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(text.replace(",", "."))

    def prepare_value(self, value):
        # Shown back as French people write it, which to_python reads again.
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            whole, _, cents = f"{Decimal(value):.2f}".partition(".")
            return f"{int(whole):,}".replace(",", " ") + f",{cents}"
        return value

    def widget_attrs(self, widget):
        # Not the number input's min/step: the text input takes « 12 000,50 ».
        return {}


def plain_text_formfield(db_field, **kwargs):
    """The model's validator on the form field too, before Django's own NUL check stops
    the field short of the model's cleaning: one message for every invisible character."""
    field = db_field.formfield(**kwargs)
    if isinstance(field, forms.CharField) and validate_plain_text not in field.validators:
        field.validators.insert(0, validate_plain_text)
    return field


class VersionedForm(forms.Form):
    """Carries the version of the case the user was looking at, to refuse stale edits."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ContractForm(forms.ModelForm):
    # Required when editing: without it the stale-edit check could not be made.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

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


class ActionForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

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


class FinancingForm(forms.Form):
    """A line the EPCI requests: who is asked, for how much. No status: the funder answers
    (``cases.commitments``). ``line`` names the line edited, so that its answer is kept."""

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


def posted_initial(form_class, data) -> dict:
    """What the user typed, as the initial values of an unbound form: shown back, not checked."""
    return {name: data.get(name) for name in form_class.base_fields if name in data}


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


DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
BAD_DATE = "Saisissez une date valide, par exemple 2019-03-05 ou 05/03/2019."


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=QuickDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={"invalid": BAD_DATE},
    )


class QuickSelect(forms.Select):
    """A select written in Python: a list's filters offer the 148 territories, and rendering
    each option through its own template cost more than all the page's queries. Each option
    is one f-string of escaped text: ``format_html`` per option still cost 5 ms a page, and
    ``html.escape`` is what Django's ``escape`` runs."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{html.escape(code)}"{" selected" if code in chosen else ""}>'
            f"{label if isinstance(label, SafeData) else html.escape(str(label))}</option>"
            for code, label in ((str(code), label) for code, label in self.choices)
        )
        return mark_safe(f"<select{flatatt(final)}>{options}</select>")  # noqa: S308 - escaped


class QuickInputMixin:
    """Django's input.html and attrs.html, written in Python (the same markup): the list
    filters' text and date fields are rendered on every list page."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)  # type: ignore[attr-defined]
        shown = self.format_value(value)  # type: ignore[attr-defined]
        value_attr = "" if shown is None else f' value="{html.escape(str(shown))}"'
        return mark_safe(  # noqa: S308 - escaped, flatatt escapes the attributes
            f'<input type="{html.escape(self.input_type)}" name="{html.escape(name)}"'  # type: ignore[attr-defined]
            f"{value_attr}{flatatt(final)}>"
        )


class QuickTextInput(QuickInputMixin, forms.TextInput):
    pass


class QuickDateInput(QuickInputMixin, forms.DateInput):
    pass


def _pk_choice(label: str, empty: str, unknown: str) -> forms.TypedChoiceField:
    """A choice of rows listed by the view (one query, in the user's scope), cleaned to a pk:
    a value outside that list is refused like any other bad input."""
    return forms.TypedChoiceField(
        label=label,
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", empty)],
        widget=QuickSelect,
        error_messages={"invalid_choice": unknown},
    )


def _code_choice(label: str, empty: str, choices, unknown: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", empty), *choices],
        widget=QuickSelect,
        error_messages={"invalid_choice": unknown},
    )


class ListFilterForm(forms.Form):
    """The filters of a list, read from the query string. ``since`` and ``until`` bound the
    date of submission (both days included)."""

    since = _date_field("Déposé depuis le")
    until = _date_field("Déposé jusqu'au")

    def set_choices(self, name: str, choices) -> None:
        field = cast(forms.ChoiceField, self.fields[name])
        empty = next(iter(cast(list, field.choices)))
        field.choices = [empty, *choices]

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "La date de fin doit suivre la date de début (ou l'égaler).")
        return data


STATE_CHOICES = [(s.value, s.label) for s in State if s != State.DECIDED]
UNKNOWN_REGION = "Cette Région n'est pas dans la liste : choisissez-en une de votre périmètre."
UNKNOWN_FUNDER = "Choisissez un financeur de la liste."
UNKNOWN_WAVE = "Cette vague n'est pas dans la liste : choisissez-en une de la liste."


DUE_CHOICES = [
    ("late", "En retard"),
    ("soon", f"Bientôt dû (sous {DUE_SOON_DAYS} jours)"),
]
SORT_CHOICES = [("due", "Échéance la plus proche")]


class DueFilterForm(forms.Form):
    """The « En retard » and « Bientôt dû » filter of the lists of cases and of the inbox."""

    due = _code_choice("Échéance", "Toutes", DUE_CHOICES, "Choisissez une échéance de la liste.")


def sort_choice(default: str) -> forms.ChoiceField:
    """The order of a list: ``default`` (its own), or the soonest due date first."""
    return _code_choice("Trier par", default, SORT_CHOICES, "Choisissez un ordre de la liste.")


class CaseFilterForm(DueFilterForm, ListFilterForm):
    """The filters of a list of cases: those of any list, and the case's due date."""

    sort = sort_choice("Dernière mise à jour")


class ContractFilterForm(CaseFilterForm):
    q = forms.CharField(
        label="Recherche",
        required=False,
        max_length=100,
        validators=PLAIN_TEXT,
        widget=QuickTextInput,
    )
    state = _code_choice("État", "Tous", STATE_CHOICES, "Choisissez un état de la liste.")
    region = _pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
    territory = _pk_choice(
        "Territoire",
        "Tous",
        "Ce territoire n'est pas dans la liste : choisissez-en un de votre périmètre.",
    )
    wave = _pk_choice("Vague", "Toutes", UNKNOWN_WAVE)
    axis = _code_choice("Axe", "Tous", Axis.choices, "Choisissez un axe de la liste.")
    funder = _code_choice("Financeur", "Tous", Funder.choices, UNKNOWN_FUNDER)
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
    region = _pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
    axis = _code_choice("Axe", "Tous", Axis.choices, "Choisissez un axe de la liste.")
    status = _code_choice(
        "Statut de la fiche",
        "Tous",
        ActionSheet.Status.choices,
        "Choisissez un statut de la liste.",
    )
    funder = _code_choice("Financeur", "Tous", Funder.choices, UNKNOWN_FUNDER)
    line_status = _code_choice(
        "Statut du financement",
        "Tous",
        FinancingLine.Status.choices,
        "Choisissez un statut de financement de la liste.",
    )
    wave = _pk_choice("Vague", "Toutes", UNKNOWN_WAVE)
    state = _code_choice(
        "État du contrat", "Tous", STATE_CHOICES, "Choisissez un état de la liste."
    )
    field_order = [
        "region", "axis", "status", "funder", "line_status", "wave", "state", "since", "until",
    ]  # fmt: skip

    def __init__(self, *args, regions, waves, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("region", regions)
        self.set_choices("wave", waves)


class TransitionForm(VersionedForm):
    transition = forms.CharField(widget=forms.HiddenInput, validators=PLAIN_TEXT)
    comment = forms.CharField(
        label="Commentaire",
        required=False,
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Votre message",
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    private = forms.BooleanField(
        label="Note interne (visible par la Région et le ministère seulement)", required=False
    )


class DocumentForm(forms.Form):
    file = forms.FileField(
        label="Document",
        help_text=SIZE_HINT,
        error_messages={"required": "Choisissez un fichier à envoyer."},
    )


class DerogationForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = DerogationRequest
        formfield_callback = plain_text_formfield
        fields = [
            "title",
            "company_name",
            "company_siret",
            "rule_kind",
            "rule_reference",
            "rule_text",
            "derogation_requested",
            "justification",
            "expected_jobs",
            "expected_investment",
            "duration_months",
            "evaluation_plan",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in (
                "rule_text",
                "derogation_requested",
                "justification",
                "evaluation_plan",
            )
        }
        help_texts = {
            "rule_reference": "Par exemple « Code de l'environnement, art. R. 122-2 ».",
            "company_siret": "14 chiffres, si une entreprise porte le projet avec vous.",
            "duration_months": "De 6 à 60 mois.",
            "expected_investment": "En euros, par exemple 1\u00a0500\u00a0000.",
        }
        field_classes = {"expected_investment": AmountField}


class DerogationCreateForm(DerogationForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    territory: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, label="Territoire", empty_label="Choisissez le territoire"
    )
    call: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=CallForProjects.objects.all(),
        label="Appel à projets",
        empty_label="Choisissez l'appel à projets",
    )

    class Meta(DerogationForm.Meta):
        fields = ["territory", "call", *DerogationForm.Meta.fields]

    def __init__(self, *args, territories, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["territory"]).queryset = territories
        self.order_fields(["territory", "call"])


DEROGATION_STATES = ["draft", "regional_review", "ministerial_review", "decided", "withdrawn"]


class DerogationFilterForm(CaseFilterForm):
    q = forms.CharField(
        label="Recherche",
        required=False,
        max_length=100,
        validators=PLAIN_TEXT,
        widget=QuickTextInput,
    )
    call = _pk_choice(
        "Appel", "Tous", "Cet appel à projets n'est pas dans la liste : choisissez-en un."
    )
    state = _code_choice(
        "État",
        "Tous",
        [(value, dict(State.choices)[value]) for value in DEROGATION_STATES],
        "Choisissez un état de la liste.",
    )
    outcome = _code_choice(
        "Décision", "Toutes", Outcome.choices, "Choisissez une décision de la liste."
    )
    region = _pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
    rule = forms.CharField(
        widget=QuickTextInput,
        label="Texte visé",
        required=False,
        max_length=300,
        validators=PLAIN_TEXT,
        help_text="la référence du texte, écrite comme on veut : « code env. art. R122-2 »",
    )
    field_order = [
        "q",
        "call",
        "state",
        "due",
        "outcome",
        "region",
        "rule",
        "since",
        "until",
        "sort",
    ]

    def __init__(self, *args, regions, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices("region", regions)
        self.set_choices("call", calls)


class RegionOpinionForm(VersionedForm):
    opinion = forms.ChoiceField(
        label="Avis de la Région", choices=[("", "Choisissez l'avis"), *RegionOpinion.choices]
    )
    reasons = forms.CharField(
        label="Motifs",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        validators=PLAIN_TEXT,
    )


class DecisionForm(VersionedForm):
    outcome = forms.ChoiceField(
        label="Décision", choices=[("", "Choisissez la décision"), *Outcome.choices]
    )
    motivation = forms.CharField(
        label="Motivation",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=20_000,
        validators=PLAIN_TEXT,
    )
    legal_basis = forms.CharField(
        label="Fondement juridique",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5_000,
        validators=PLAIN_TEXT,
    )
    granted_duration_months = forms.IntegerField(
        label="Durée accordée (mois)",
        required=False,
        min_value=6,
        max_value=60,
        help_text="Si la dérogation est accordée : de 6 à 60 mois.",
    )
    granted_conditions = forms.CharField(
        label="Conditions de la dérogation",
        required=False,
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Si la dérogation est accordée.",
    )
    solution = forms.CharField(
        label="Comment le projet est possible sans dérogation",
        required=False,
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Si le projet est déjà possible dans le droit en vigueur.",
    )


class OpinionRequestForm(forms.Form):
    organisation: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, label="Organisation consultée", empty_label="Choisissez"
    )
    due_on = forms.DateField(label="Réponse attendue le", widget=DATE_WIDGET)
    question = forms.CharField(
        label="Question posée",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        validators=PLAIN_TEXT,
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["organisation"]).queryset = organisations


class OpinionAnswerForm(forms.Form):
    verdict = forms.ChoiceField(
        label="Avis", choices=[("", "Choisissez l'avis"), *OpinionVerdict.choices]
    )
    text = forms.CharField(
        label="Texte de l'avis",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20_000,
        validators=PLAIN_TEXT,
    )
    file = forms.FileField(label="Document joint", required=False, help_text=SIZE_HINT)


class WaveForm(forms.Form):
    name = forms.CharField(label="Nom", max_length=200, validators=PLAIN_TEXT)
    date = forms.DateField(label="Date", widget=DATE_WIDGET)
    place = forms.CharField(label="Lieu", max_length=200, validators=PLAIN_TEXT)
    description = forms.CharField(
        label="Description",
        required=False,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.reference} — {obj.territory} — {obj.title or 'sans intitulé'}"


class WaveAddForm(VersionedForm):
    contract = ContractChoiceField(
        queryset=None, label="Contrat à ajouter", empty_label="Choisissez un contrat validé"
    )

    def __init__(self, *args, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["contract"]).queryset = contracts

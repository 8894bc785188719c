"""The forms of derogation requests: the request, its list, the opinions and the decision."""

from typing import cast

from django import forms

from cases.derogations.models import CallForProjects, DerogationRequest, Outcome, RegionOpinion
from cases.kernel.documents import SIZE_HINT
from cases.kernel.forms import (
    DATE_WIDGET,
    UNKNOWN_REGION,
    AmountField,
    CaseFilterForm,
    MergeableForm,
    QuickTextInput,
    VersionedForm,
    code_choice,
    pk_choice,
    plain_text_formfield,
)
from cases.kernel.models import PLAIN_TEXT, OpinionVerdict, State


class DerogationForm(MergeableForm):
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
    call = pk_choice(
        "Appel", "Tous", "Cet appel à projets n'est pas dans la liste : choisissez-en un."
    )
    state = code_choice(
        "État",
        "Tous",
        [(value, dict(State.choices)[value]) for value in DEROGATION_STATES],
        "Choisissez un état de la liste.",
    )
    outcome = code_choice(
        "Décision", "Toutes", Outcome.choices, "Choisissez une décision de la liste."
    )
    region = pk_choice("Région pilote", "Toutes", UNKNOWN_REGION)
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

"""Invisible and control characters are refused in every text a user types: every form's
text fields (found by introspection, so that a new one cannot be forgotten), the models'
fields, and the services that take free text, which the API will call too."""

import inspect
from datetime import date
from html import unescape

import pytest
from django import forms as django_forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from cases import models as case_models
from cases.contracts import forms as contract_forms
from cases.contracts import services as contract_services
from cases.derogations import forms as derogation_forms
from cases.derogations import services as derogations
from cases.kernel import forms, french, services
from cases.kernel.validators import validate_plain_text
from cases.models import Case, CaseEvent, Comment, TerritoryContract, Wave
from cases.waves import forms as wave_forms
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db

REFUSED = {
    "U+202E": "Titre \u202eesrevni",
    "U+0000": "Titre\x00nul",
}


def message(code: str) -> str:
    return f"Ce texte contient un caractère invisible ou de contrôle ({code}) : retirez-le."


# Every module of forms: the kernel's and each case kind's.
FORM_MODULES = [forms, contract_forms, derogation_forms, wave_forms]


def form_classes() -> list[type[django_forms.BaseForm]]:
    return [
        cls
        for module in FORM_MODULES
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, django_forms.BaseForm)
        and cls.__module__ == module.__name__
        # A model form without its model is a base for others, never shown itself.
        and getattr(getattr(cls, "_meta", None), "model", True) is not None
    ]


TEXT_FIELDS = [
    (cls, name)
    for cls in form_classes()
    for name, field in cls.base_fields.items()
    if isinstance(field, django_forms.CharField)
]


def test_the_introspection_finds_the_forms_people_type_in():
    found = {(cls.__name__, name) for cls, name in TEXT_FIELDS}
    expected = [
        ("CommentForm", "body"),
        ("TransitionForm", "comment"),
        ("DecisionForm", "motivation"),
        ("DecisionForm", "legal_basis"),
        ("RegionOpinionForm", "reasons"),
        ("OpinionRequestForm", "question"),
        ("OpinionAnswerForm", "text"),
        ("WaveForm", "name"),
        ("ContractForm", "title"),
        ("ActionForm", "project_owner"),
        ("DerogationForm", "justification"),
    ]
    assert set(expected) <= found


def build(cls, data):
    keywords = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    return cls(data=data, **{name: Case.objects.none() for name in keywords})


@pytest.mark.parametrize("code", REFUSED, ids=REFUSED.keys())
@pytest.mark.parametrize(
    ("cls", "name"), TEXT_FIELDS, ids=[f"{cls.__name__}.{name}" for cls, name in TEXT_FIELDS]
)
def test_every_text_field_of_every_form_refuses_invisible_characters(cls, name, code):
    form = build(cls, {name: REFUSED[code]})
    assert not form.is_valid()
    assert message(code) in form.errors[name]


@pytest.mark.parametrize(
    ("cls", "name"), TEXT_FIELDS, ids=[f"{cls.__name__}.{name}" for cls, name in TEXT_FIELDS]
)
def test_ordinary_french_text_passes(cls, name):
    form = build(cls, {name: "Œuvre d'intérêt « général » — 1 250 €\n\tÀ l'étude."})
    form.is_valid()
    assert not any("invisible" in str(error) for error in form.errors.get(name, []))


USER_MODELS = [
    case_models.TerritoryContract,
    case_models.ActionSheet,
    case_models.DerogationRequest,
    case_models.Comment,
    case_models.Opinion,
    case_models.Wave,
    case_models.CallForProjects,
]
INTERNAL = {"kind", "reference", "audit_head", "rule_reference_key", "state"}
MODEL_TEXT_FIELDS = [
    (model, field.name)
    for model in USER_MODELS
    for field in model._meta.get_fields()
    if isinstance(field, models.CharField | models.TextField)
    and not field.choices
    and field.name not in INTERNAL
]


@pytest.mark.parametrize(
    ("model", "name"),
    MODEL_TEXT_FIELDS,
    ids=[f"{model.__name__}.{name}" for model, name in MODEL_TEXT_FIELDS],
)
def test_every_user_text_field_of_the_models_has_the_validator(model, name):
    assert validate_plain_text in model._meta.get_field(name).validators


@pytest.mark.parametrize(
    "char",
    [
        *["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\u200e", "\u2060"],
        *["\ufeff", "\u00ad", "\u061c", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800"],
    ],
)
def test_the_validator_refuses_format_and_control_characters(char):
    with pytest.raises(ValidationError) as error:
        validate_plain_text(f"a{char}b")
    assert f"U+{ord(char):04X}" in error.value.messages[0]


def test_the_validator_keeps_tabs_newlines_and_french():
    validate_plain_text("Ligne 1\r\nLigne 2\tÉtape « 3 » — l'œuvre, 12 000 €, n° 5 ; 😀")


def test_a_comment_with_a_bidi_control_is_refused_over_http_and_kept(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    response = client.post(
        reverse("comment-create", args=[contract.reference]), {"body": REFUSED["U+202E"]}
    )
    assert response.status_code == 400
    # Shown with French typography: a no-break space before its colon.
    assert french.typo(message("U+202E")) in unescape(response.content.decode())
    assert not Comment.objects.exists()


def test_comment_add_refuses_invisible_characters():
    contract = factories.contract_in_state("draft")
    events = contract.event_count
    with pytest.raises(services.InvalidInput) as error:
        services.comment_add(case=contract, actor=contract.created_by, body="Bien\u202e reçu")
    assert error.value.message == message("U+202E")
    assert error.value.field_errors == {"body": [message("U+202E")]}
    assert not Comment.objects.exists()
    assert Case.objects.get(pk=contract.pk).event_count == events


@pytest.mark.parametrize("code", REFUSED, ids=REFUSED.keys())
def test_a_transition_comment_with_a_control_character_is_refused(code):
    contract = factories.contract_in_state("regional_review")
    with pytest.raises(services.InvalidInput) as error:
        services.case_request_changes(
            case=contract, actor=factories.region_reviewer("84"), comment=REFUSED[code]
        )
    assert error.value.field_errors == {"comment": [message(code)]}
    fresh = Case.objects.get(pk=contract.pk)
    assert (fresh.state, fresh.version) == ("regional_review", contract.version)
    assert not CaseEvent.objects.filter(case=contract, name="request_changes").exists()


def test_a_title_with_a_bidi_control_is_refused_by_the_service():
    contract = factories.contract_in_state("draft")
    with pytest.raises(services.InvalidInput) as error:
        contract_services.contract_update(
            case=contract,
            actor=contract.created_by,
            expected_version=contract.version,
            changes={"title": "Contrat \u202elanoigér"},
        )
    assert error.value.field_errors == {"title": [message("U+202E")]}
    assert TerritoryContract.objects.get(pk=contract.pk).title == contract.title


def test_the_decision_and_the_opinions_refuse_invisible_characters():
    request = factories.derogation_in_state("ministerial_review")
    with pytest.raises(services.InvalidInput) as error:
        derogations.case_decide(
            case=request,
            actor=factories.ministry_agent(),
            outcome="refused",
            motivation="Motif\u2066",
            legal_basis="Article 37-1",
        )
    assert list(error.value.field_errors) == ["motivation"]
    with pytest.raises(services.InvalidInput):
        derogations.opinion_request(
            case=request,
            actor=factories.ministry_agent(),
            organisation=factories.national_organisation("operator", "Bpifrance"),
            due_on=date(2099, 1, 1),
            question="\x00",
        )
    assert Case.objects.get(pk=request.pk).state == "ministerial_review"
    assert not request.opinions.exists()


def test_wave_create_refuses_invisible_characters():
    with pytest.raises(services.InvalidInput) as error:
        waves.wave_create(
            actor=factories.ministry_agent(),
            name="Vague\u200b",
            date=date(2019, 3, 5),
            place="Lyon",
        )
    assert list(error.value.field_errors) == ["name"]
    assert not Wave.objects.exists()

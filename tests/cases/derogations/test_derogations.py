"""Derogation requests: who may do what, the call's deadline, opinions, decisions, letters."""

import hashlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from cases.derogations import selectors as derogation_selectors
from cases.derogations import services as derogations
from cases.kernel import selectors, services
from cases.models import Case, CaseEvent, DerogationRequest, Opinion, rule_reference_key
from tests import factories

pytestmark = pytest.mark.django_db

ROLES = {
    "epci_in": lambda: factories.epci_agent("200000172"),
    "epci_out": lambda: factories.epci_agent("200065597"),
    "region_in": lambda: factories.region_reviewer("84"),
    "region_out": lambda: factories.region_reviewer("28"),
    "ministry": factories.ministry_agent,
    "operator": lambda: factories.operator_agent("France Travail"),
}
# (state, transition) -> the roles that may take it; every other role is refused.
ALLOWED = {
    ("draft", "submit"): {"epci_in"},
    ("draft", "withdraw"): {"epci_in"},
    ("regional_review", "forward"): {"region_in"},
    ("regional_review", "request_changes"): {"region_in"},
    ("regional_review", "withdraw"): {"epci_in"},
    ("ministerial_review", "request_changes"): {"ministry"},
    ("ministerial_review", "withdraw"): {"epci_in"},
    ("decided", "withdraw"): set(),
    ("withdrawn", "submit"): set(),
}
TABLE = [(state, name, role) for (state, name) in ALLOWED for role in ROLES]
TARGET = {
    "submit": "regional_review",
    "withdraw": "withdrawn",
    "forward": "ministerial_review",
    "request_changes": "draft",
}


def prepared(state, name):
    """A request in ``state``, with the Region's opinion already given when forwarding."""
    request = factories.derogation_in_state(state)
    if name == "forward":
        derogations.region_opinion_give(
            case=request,
            actor=factories.region_reviewer("84"),
            opinion="favourable",
            reasons="Oui",
            expected_version=request.version,
        )
        request.refresh_from_db()
    return request


def run(request, name, actor):
    return services.run_transition(case=request, actor=actor, name=name, comment="Motif")


@pytest.mark.parametrize(
    ("state", "name", "role"), TABLE, ids=[f"{s}-{n}-{r}" for s, n, r in TABLE]
)
def test_transition_table(state, name, role):
    request = prepared(state, name)
    actor = ROLES[role]()
    before = Case.objects.get(pk=request.pk)
    if role in ALLOWED[(state, name)]:
        run(request, name, actor)
        after = Case.objects.get(pk=request.pk)
        # A submission is followed by its acknowledgement's event.
        added = 2 if name == "submit" else 1
        assert (after.state, after.event_count) == (TARGET[name], before.event_count + added)
    else:
        with pytest.raises(services.CaseActionError):
            run(request, name, actor)
        after = Case.objects.get(pk=request.pk)
        assert (after.state, after.event_count) == (before.state, before.event_count)


@pytest.mark.parametrize("role", ROLES)
def test_decide_is_for_the_ministry_only(role):
    request = factories.derogation_in_state("ministerial_review")
    before = Case.objects.get(pk=request.pk)
    if role == "ministry":
        decide(request, ROLES[role](), "refused")
        after = Case.objects.get(pk=request.pk)
        assert (after.state, after.event_count) == ("decided", before.event_count + 1)
        return
    with pytest.raises(services.ActionForbidden):
        decide(request, ROLES[role](), "refused")
    after = Case.objects.get(pk=request.pk)
    assert (after.state, after.event_count) == (before.state, before.event_count)
    assert not request.documents.exists()


def test_forward_needs_the_regions_opinion():
    request = factories.derogation_in_state("regional_review")
    with pytest.raises(services.InvalidInput) as error:
        services.case_forward(case=request, actor=factories.region_reviewer("84"))
    assert "La Région doit d'abord donner son avis." in error.value.problems


@pytest.mark.parametrize(("offset", "accepted"), [(-1, True), (1, False)])
def test_submission_around_the_closing_time(offset, accepted):
    call = factories.open_call(name="Appel qui ferme")
    request = factories.derogation_in_state("draft")
    DerogationRequest.objects.filter(pk=request.pk).update(call=call)
    request.refresh_from_db()
    with time_machine.travel(call.closes_at + timedelta(seconds=offset), tick=False):
        if accepted:
            services.case_submit(case=request, actor=request.created_by)
        else:
            with pytest.raises(services.InvalidInput) as error:
                services.case_submit(case=request, actor=request.created_by)
            assert "il est clos" in " ".join(error.value.problems)
    state = Case.objects.get(pk=request.pk).state
    assert state == ("regional_review" if accepted else "draft")


def test_a_draft_stays_editable_after_the_call_closed():
    request = factories.derogation_in_state("draft")
    with time_machine.travel(request.call.closes_at + timedelta(days=3)):
        derogations.derogation_update(
            case=request,
            actor=request.created_by,
            expected_version=request.version,
            changes={"title": "Nouvel intitulé"},
        )
    assert DerogationRequest.objects.get(pk=request.pk).title == "Nouvel intitulé"


def test_siret_is_checked_by_its_luhn_key():
    with pytest.raises(services.InvalidInput) as error:
        factories.derogation_in_state("draft", company_siret="73282932000075")
    assert "SIRET" in " ".join(error.value.problems)
    good = factories.derogation_in_state("draft", company_siret="73282932000074")
    assert good.company_siret == "73282932000074"


def decide(request, actor, outcome, **fields):
    values = {
        "granted": {"granted_duration_months": 36, "granted_conditions": "Bilan annuel."},
        "solved_without_derogation": {"solution": "L'article R. 122-2-1 le permet déjà."},
        "refused": {},
    }[outcome]
    return derogations.case_decide(
        case=request,
        actor=actor,
        outcome=outcome,
        motivation="Motivation détaillée « test ».",
        legal_basis="Loi n° 2018-727 du 10 août 2018, art. 37",
        **{**values, **fields},
    )


@pytest.mark.parametrize(
    ("outcome", "label"),
    [
        ("granted", "Dérogation expérimentale accordée"),
        ("refused", "Demande refusée"),
        ("solved_without_derogation", "Possible sans dérogation"),
    ],
)
def test_decision_writes_a_letter_whose_hash_is_in_the_audit(outcome, label):
    contract = factories.contract_in_state("draft")
    request = factories.derogation_in_state("ministerial_review")
    decided = decide(request, factories.ministry_agent(), outcome)
    assert decided.state == "decided" and decided.outcome == outcome
    event = CaseEvent.objects.get(case=request, name="decide")
    letter = request.documents.get(pk=event.payload["letter"]["document"])
    content = letter.file.read()
    assert hashlib.sha256(content).hexdigest() == event.payload["letter"]["sha256"] == letter.sha256
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert request.reference in text and label in text
    assert (decided.contract_id == contract.pk) is (outcome == "granted")


def test_an_incomplete_decision_changes_nothing_and_keeps_no_letter():
    request = factories.derogation_in_state("ministerial_review")
    with pytest.raises(services.InvalidInput) as error:
        decide(request, factories.ministry_agent(), "granted", granted_conditions="")
    assert "conditions" in " ".join(error.value.problems)
    assert Case.objects.get(pk=request.pk).state == "ministerial_review"
    assert not request.documents.exists()


def ask(request, operator_name="Bpifrance"):
    operator = factories.national_organisation("operator", operator_name)
    return derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=operator,
        due_on=timezone.localdate() + timedelta(days=10),
        question="Quel impact sur vos financements ?",
    )


def test_only_the_consulted_organisation_answers_and_only_once():
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request)
    other_operator = factories.operator_agent("Business France")
    with pytest.raises(services.ActionForbidden):
        derogations.opinion_answer(
            opinion=opinion, actor=other_operator, verdict="favourable", text="Oui"
        )
    member = factories.operator_agent("Bpifrance")
    derogations.opinion_answer(
        opinion=opinion, actor=member, verdict="reserved", text="Sous réserve"
    )
    with pytest.raises(services.ActionNotPossible, match="déjà été rendu"):
        derogations.opinion_answer(opinion=opinion, actor=member, verdict="favourable", text="Oui")
    assert Opinion.objects.get(pk=opinion.pk).verdict == "reserved"
    answer = CaseEvent.objects.get(case=request, name="opinion_answer")
    assert answer.private and answer.payload["verdict"] == "reserved"


def test_the_consulted_see_the_request_and_only_their_own_opinion():
    request = factories.derogation_in_state("ministerial_review")
    ask(request, "Bpifrance")
    ask(request, "Business France")
    member = factories.operator_agent("Bpifrance")
    outsider = factories.operator_agent("France Travail")
    assert derogation_selectors.derogations_for_user(member).filter(pk=request.pk).exists()
    assert not derogation_selectors.derogations_for_user(outsider).filter(pk=request.pk).exists()
    seen = [o.organisation.name for o in selectors.opinions_for_user(member, request)]
    assert seen == ["Bpifrance"]
    assert len(selectors.opinions_for_user(factories.ministry_agent(), request)) == 2
    assert len(selectors.opinions_for_user(factories.epci_agent("200000172"), request)) == 0


def test_overdue_opinions_are_marked():
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request)
    assert not opinion.is_overdue()
    assert opinion.is_overdue(today=opinion.due_on + timedelta(days=1))


@pytest.mark.parametrize(
    "variant",
    [
        "Code de l'environnement, art. R. 122-2",
        "code de l’environnement article R122-2",
        "CODE DE L'ENVIRONNEMENT  ART R 122-2",
        "Code de l'environnement, Article R.122-2",
    ],
)
def test_reference_variants_share_a_key(variant):
    assert rule_reference_key(variant) == rule_reference_key(
        "Code de l'environnement, art. R. 122-2"
    )


def test_other_articles_do_not_match():
    assert rule_reference_key("Code de l'environnement, art. R. 122-3") != rule_reference_key(
        "Code de l'environnement, art. R. 122-2"
    )


def test_similar_requests_never_leak_out_of_scope():
    here = factories.derogation_in_state("draft")
    elsewhere = factories.derogation_in_state(
        "draft", territory_code="2802", rule_reference="code de l’environnement article R122-2"
    )
    region = factories.region_reviewer("84")
    assert list(derogation_selectors.similar_requests(region, here)) == []
    minister = factories.ministry_agent()
    assert list(derogation_selectors.similar_requests(minister, here)) == [elsewhere]


@pytest.mark.parametrize("role", [*ROLES, "consulted"])
def test_opinion_answer_table(role):
    request = factories.derogation_in_state("ministerial_review")
    opinion = ask(request, "Bpifrance")
    actor = factories.operator_agent("Bpifrance") if role == "consulted" else ROLES[role]()
    answer = {"opinion": opinion, "actor": actor, "verdict": "favourable", "text": "Oui"}
    if role == "consulted":
        derogations.opinion_answer(**answer)
        with pytest.raises(services.ActionNotPossible):
            derogations.opinion_answer(**answer)
        assert Opinion.objects.get(pk=opinion.pk).answered_by == actor
    else:
        with pytest.raises(services.ActionForbidden):
            derogations.opinion_answer(**answer)
        assert not Opinion.objects.get(pk=opinion.pk).answered

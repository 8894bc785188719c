"""Who is told of what: one row per event, written with it; never the actor."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.contracts import services as contract_services
from cases.derogations import services as derogations
from cases.kernel import services
from cases.models import CaseEvent
from cases.waves import services as waves
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    epci = factories.epci_agent("200000172")
    return {
        "epci": epci,
        "epci_colleague": factories.epci_agent("200000172"),
        "epci_elsewhere": factories.epci_agent("200065597"),
        "region": factories.region_reviewer("84"),
        "region_elsewhere": factories.region_reviewer("28"),
        "ministry": factories.ministry_agent(),
        "ministry_colleague": factories.ministry_agent(),
        "bpifrance": factories.operator_agent("Bpifrance"),
        "france_travail": factories.operator_agent("France Travail"),
        "steering": factories.steering_member(),
    }


def told(people, event_name) -> set[str]:
    event = CaseEvent.objects.filter(name=event_name).order_by("-pk").first()
    users = set(Notification.objects.filter(event=event).values_list("recipient", flat=True))
    return {name for name, user in people.items() if user.pk in users}


def contract_at(state, people):
    return factories.contract_in_state(state, author=people["epci"])


def test_submit_tells_the_regions_reviewers(people):
    contract = contract_at("draft", people)
    services.case_submit(case=contract, actor=people["epci"])
    assert told(people, "submit") == {"region"}


def test_approval_tells_the_ministry(people):
    contract = contract_at("regional_review", people)
    services.case_approve(case=contract, actor=people["region"])
    assert told(people, "approve") == {"ministry", "ministry_colleague"}


@pytest.mark.parametrize(
    ("state", "name", "actor"),
    [
        ("ministerial_review", "request_changes", "ministry"),
        ("regional_review", "reject", "region"),
        ("ministerial_review", "sign_off", "ministry"),
    ],
)
def test_decisions_tell_the_territorys_epci_agents(people, state, name, actor):
    contract = contract_at(state, people)
    services.run_transition(case=contract, actor=people[actor], name=name, comment="Motif")
    assert told(people, name) == {"epci", "epci_colleague"}


def test_the_actor_is_never_told(people):
    contract = contract_at("ministerial_review", people)
    services.case_sign_off(case=contract, actor=people["ministry"])
    services.comment_add(case=contract, actor=people["ministry"], body="Bravo")
    assert "ministry" not in told(people, "comment")
    assert told(people, "comment") == {"epci", "epci_colleague", "region", "ministry_colleague"}


def test_a_private_note_tells_the_reviewing_institutions_only(people):
    contract = contract_at("regional_review", people)
    services.comment_add(case=contract, actor=people["region"], body="Entre nous", private=True)
    assert told(people, "private_note") == {"ministry", "ministry_colleague"}


def test_derogation_events(people):
    request = factories.derogation_in_state("regional_review", author=people["epci"])
    derogations.region_opinion_give(
        case=request,
        actor=people["region"],
        opinion="favourable",
        reasons="Oui",
        expected_version=request.version,
    )
    services.case_forward(case=request, actor=people["region"])
    assert told(people, "forward") == {"ministry", "ministry_colleague"}
    opinion = derogations.opinion_request(
        case=request,
        actor=people["ministry"],
        organisation=people["bpifrance"].memberships.get().organisation,
        due_on=timezone.localdate() + timedelta(days=3),
        question="?",
    )
    assert told(people, "opinion_request") == {"bpifrance"}
    derogations.opinion_answer(
        opinion=opinion, actor=people["bpifrance"], verdict="favourable", text="Oui"
    )
    assert told(people, "opinion_answer") == {"ministry", "ministry_colleague"}
    derogations.case_decide(
        case=request,
        actor=people["ministry"],
        outcome="refused",
        motivation="Non",
        legal_basis="Art. 37-1",
    )
    assert told(people, "decide") == {"epci", "epci_colleague"}


def test_a_validated_wave_tells_the_parties_of_its_contracts_once_for_the_wave(people):
    wave, minister = factories.wave_of(2)
    contracts = list(waves.contracts_of(wave))
    waves.wave_validate(wave=wave, actor=minister)
    rows = Notification.objects.filter(kind="contractualise")
    told_of = {row.recipient_id: row.text for row in rows}
    assert rows.count() == len(told_of)  # once each, however many of its contracts
    assert people["epci_elsewhere"].pk not in told_of
    assert people["ministry"].pk not in told_of and minister.pk not in told_of
    # The Region's reviewer is party to both contracts, each author to their own.
    assert all(contract.reference in told_of[people["region"].pk] for contract in contracts)
    first, second = contracts
    for contract, other in ((first, second), (second, first)):
        assert contract.reference in told_of[contract.created_by_id]
        assert other.reference not in told_of[contract.created_by_id]


def test_events_nobody_is_told_of_write_nothing(people):
    contract = contract_at("draft", people)
    before = Notification.objects.count()
    contract_services.contract_update(
        case=contract,
        actor=people["epci"],
        expected_version=contract.version,
        changes={"title": "Nouvel intitulé"},
    )
    assert Notification.objects.count() == before


def test_notifications_roll_back_with_a_refused_transition(people):
    contract = contract_at("regional_review", people)
    before = Notification.objects.count()
    with pytest.raises(services.ActionForbidden):
        services.case_approve(case=contract, actor=people["region_elsewhere"])
    assert Notification.objects.count() == before

"""Every transition × every role × in scope / out of scope, from every state."""

import pytest

from cases.contracts import services as contract_services
from cases.kernel import services
from cases.models import Case, CaseEvent
from tests import factories

pytestmark = pytest.mark.django_db

STATES = ["draft", "regional_review", "ministerial_review", "signed_off", "rejected", "withdrawn"]
ROLES = {
    "epci_in_scope": lambda: factories.epci_agent("200033116"),  # CC Cluses-Arve et Montagnes
    "epci_out_of_scope": lambda: factories.epci_agent("200065597"),  # CU Caen la Mer
    "region_in_scope": lambda: factories.region_reviewer("84"),
    "region_out_of_scope": lambda: factories.region_reviewer("28"),
    "ministry": factories.ministry_agent,
    "operator": factories.operator_agent,
    "steering": factories.steering_member,
}
# (transition, state) → the only role allowed; every other pair is refused.
ALLOWED = {
    ("submit", "draft"): "epci_in_scope",
    ("approve", "regional_review"): "region_in_scope",
    ("request_changes", "regional_review"): "region_in_scope",
    ("request_changes", "ministerial_review"): "ministry",
    ("reject", "regional_review"): "region_in_scope",
    ("reject", "ministerial_review"): "ministry",
    ("withdraw", "draft"): "epci_in_scope",
    ("withdraw", "regional_review"): "epci_in_scope",
    ("withdraw", "ministerial_review"): "epci_in_scope",
    ("sign_off", "ministerial_review"): "ministry",
}
TARGETS = {
    "submit": "regional_review",
    "approve": "ministerial_review",
    "request_changes": "draft",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "sign_off": "signed_off",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", TARGETS)
def test_transition(name, state, role):
    contract = factories.contract_in_state(state)
    actor = ROLES[role]()
    before = Case.objects.values("state", "version", "event_count").get(pk=contract.pk)
    allowed = ALLOWED.get((name, state)) == role
    if allowed:
        services.run_transition(case=contract, actor=actor, name=name, comment="Motif écrit")
        after = Case.objects.get(pk=contract.pk)
        assert after.state == TARGETS[name]
        assert after.version == before["version"] + 1
        # The transition's own event (a submission is followed by its acknowledgement's).
        event = CaseEvent.objects.filter(case=contract, kind="transition").latest("seq")
        assert after.event_count == event.seq + (1 if name == "submit" else 0)
        assert (event.name, event.from_state, event.to_state, event.actor_id) == (
            name,
            state,
            TARGETS[name],
            actor.pk,
        )
    else:
        with pytest.raises(services.CaseActionError) as refused:
            services.run_transition(case=contract, actor=actor, name=name, comment="Motif écrit")
        assert refused.value.message  # a French sentence for the user
        assert Case.objects.values("state", "version", "event_count").get(pk=contract.pk) == before


def test_forbidden_and_impossible_say_why():
    contract = factories.contract_in_state("regional_review")
    with pytest.raises(services.ActionForbidden, match="pas le droit de transmettre"):
        services.case_approve(case=contract, actor=factories.region_reviewer("28"))
    with pytest.raises(services.ActionNotPossible, match="à l'état « Instruction régionale »"):
        services.case_sign_off(case=contract, actor=factories.ministry_agent())


@pytest.mark.parametrize("name", ["request_changes", "reject"])
def test_comment_is_required(name):
    contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    with pytest.raises(services.InvalidInput, match="commentaire est obligatoire"):
        services.run_transition(case=contract, actor=reviewer, name=name, comment="   ")
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


def test_submit_guard_lists_every_missing_part():
    agent = factories.epci_agent("200000172")
    from territories.models import Territory

    contract = contract_services.contract_create(
        territory=Territory.objects.get(code="8414"), actor=agent
    )
    with pytest.raises(services.InvalidInput) as refused:
        services.case_submit(case=contract, actor=agent)
    assert refused.value.problems == [
        "Le contrat n'a pas d'intitulé.",
        "La période du contrat (début et fin) n'est pas renseignée.",
        "Le contrat ne compte aucune fiche-action.",
    ]
    assert Case.objects.get(pk=contract.pk).state == "draft"


def test_contractualise_has_no_service():
    assert "contractualise" not in services.TRANSITION_SERVICES
    assert not hasattr(services, "case_contractualise")


def test_stale_version_is_refused_naming_who_and_when():
    contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84", first_name="Dominique", last_name="Bernard")
    seen = contract.version
    services.case_request_changes(case=contract, actor=reviewer, comment="Préciser le budget")
    agent = factories.epci_agent("200000172")
    with pytest.raises(services.StaleCase, match="modifié par Dominique Bernard le"):
        services.case_withdraw(case=contract, actor=agent, expected_version=seen)
    assert Case.objects.get(pk=contract.pk).state == "draft"

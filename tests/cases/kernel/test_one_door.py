"""One door for every transition: the table of those a user starts by name, one runner, and
contractualisation only through a wave's validation."""

import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from cases.kernel import services
from cases.models import CaseEvent, DerogationRequest, TerritoryContract, WaveState
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db
REFUSED = "Un dossier n'est contractualisé que par la validation de sa vague."


def unchanged(contract: TerritoryContract, events: int) -> None:
    contract.refresh_from_db()
    assert contract.state == "signed_off"
    assert contract.contractualised_at is None
    assert CaseEvent.objects.filter(case=contract).count() == events


def test_contractualise_cannot_be_started_by_its_name(reference_data):
    contract = factories.contract_in_state("signed_off")
    events = CaseEvent.objects.filter(case=contract).count()
    with pytest.raises(services.ActionNotPossible, match="Action inconnue"):
        services.run_transition(
            case=contract, actor=factories.ministry_agent(), name="contractualise"
        )
    unchanged(contract, events)


def test_the_runner_itself_refuses_to_contractualise_outside_a_wave(reference_data):
    contract = factories.contract_in_state("signed_off")
    events = CaseEvent.objects.filter(case=contract).count()
    with pytest.raises(services.ActionNotPossible) as refusal:
        # As the wave's service calls it, with its payload: the model's condition refuses.
        services.run_declared_transition(
            case=contract,
            actor=factories.ministry_agent(),
            name="contractualise",
            prepare=lambda case: ([], {"wave": 0}),
        )
    assert str(refusal.value) == REFUSED
    unchanged(contract, events)


def test_the_models_method_refuses_outside_a_wave(reference_data):
    contract = TerritoryContract.objects.get(pk=factories.contract_in_state("signed_off").pk)
    with pytest.raises(TransitionNotAllowed):
        contract.contractualise(at=timezone.now())


def test_a_granted_derogation_too(reference_data):
    request = factories.derogation_in_state("ministerial_review")
    # A granted decision, set on the row: what matters here is only the state it leaves.
    DerogationRequest.objects.filter(pk=request.pk).update(state="decided", outcome="granted")
    request = DerogationRequest.objects.get(pk=request.pk)
    with pytest.raises(TransitionNotAllowed):
        request.contractualise(at=timezone.now())


def test_a_decision_is_not_started_by_its_name(reference_data):
    request = factories.derogation_in_state("ministerial_review")
    minister = factories.ministry_agent()
    with pytest.raises(services.ActionNotPossible, match="Action inconnue"):
        services.run_transition(case=request, actor=minister, name="decide")
    # Nor by the runner without what its own service carries (the outcome, the letter).
    with pytest.raises(services.ActionNotPossible, match="Action inconnue"):
        services.run_declared_transition(case=request, actor=minister, name="decide")
    request.refresh_from_db()
    assert request.state == "ministerial_review"
    assert request.outcome == ""


def test_the_wave_validation_is_the_door(reference_data):
    wave, minister = factories.wave_of(2)
    waves.wave_validate(wave=wave, actor=minister)
    wave.refresh_from_db()
    assert wave.state == WaveState.VALIDATED
    contracts = TerritoryContract.objects.filter(wave_items__wave=wave)
    assert {c.state for c in contracts} == {"contractualised"}
    # Each through the runner: its audit event names the wave.
    payloads = CaseEvent.objects.filter(case__in=contracts, name="contractualise")
    assert [e.payload["wave"] for e in payloads] == [wave.pk, wave.pk]


def test_the_wave_transitions_declare_the_ministry_permission(reference_data):
    wave, minister = factories.wave_of(1)
    region = factories.region_reviewer("84")
    for method in (wave.validate, wave.cancel):
        declared = method._django_fsm.get_transition(WaveState.PLANNED)
        assert declared.has_perm(wave, minister)
        assert not declared.has_perm(wave, region)
    with pytest.raises(services.ActionForbidden):
        waves.wave_validate(wave=wave, actor=region)


def test_the_table_names_model_transitions_and_their_services():
    assert set(services.TRANSITION_SERVICES) == set(services.TRANSITIONS)
    kinds = (TerritoryContract, DerogationRequest)
    for name in services.TRANSITIONS:
        assert any(hasattr(getattr(kind, name, None), "_django_fsm") for kind in kinds), name
    assert {"request_changes", "reject"} == services.COMMENT_REQUIRED
    assert not set(services.RESERVED) & set(services.TRANSITIONS)

"""Validating a wave while someone else acts on its contracts, on PostgreSQL: never partial."""

import threading
import time

import pytest
from django.db import connections

from cases.kernel import services
from cases.models import Case, TerritoryContract, Wave
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(*actions) -> list[str]:
    barrier = threading.Barrier(len(actions))
    outcomes: dict[int, str] = {}

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            action()
            outcomes[index] = "ok"
        except services.CaseActionError as error:
            outcomes[index] = type(error).__name__
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return [outcomes.get(index, "hung") for index in range(len(actions))]


def assert_whole(wave: Wave) -> None:
    """Every contract still in the validated wave is contractualised; no other one is."""
    wave.refresh_from_db()
    members = set(waves.contracts_of(wave).values_list("pk", flat=True))
    contractualised = set(
        TerritoryContract.objects.filter(state="contractualised").values_list("pk", flat=True)
    )
    if wave.state == "validated":
        assert contractualised == members
    else:
        assert contractualised == set()


def test_a_withdraw_during_validation_waits_and_is_rechecked(reference_data, monkeypatch):
    wave, minister = factories.wave_of(4)
    target = waves.contracts_of(wave)[2]
    agent = target.created_by
    real = waves.case_contractualise

    def slow(*, case, **kwargs):
        # Holds every contract's lock long enough for the withdraw to arrive and wait.
        time.sleep(0.2)
        return real(case=case, **kwargs)

    monkeypatch.setattr(waves, "case_contractualise", slow)

    def withdraw_late():
        time.sleep(0.1)
        services.case_withdraw(case=target, actor=agent)

    validate, withdraw = in_threads(
        lambda: waves.wave_validate(wave=wave, actor=minister), withdraw_late
    )
    assert (validate, withdraw) == ("ok", "ActionNotPossible")
    assert Case.objects.get(pk=target.pk).state == "contractualised"
    assert_whole(wave)


@pytest.mark.parametrize("round_", range(8))
def test_removing_a_contract_while_validating_never_splits_the_wave(reference_data, round_):
    wave, minister = factories.wave_of(3, name=f"Vague {round_}")
    removed = waves.contracts_of(wave)[round_ % 3]
    other = factories.ministry_agent()
    validate, remove = in_threads(
        lambda: waves.wave_validate(wave=wave, actor=minister),
        lambda: waves.wave_remove_contract(wave=wave, actor=other, contract=removed),
    )
    assert validate == "ok"
    # Either the removal came first (and the wave was validated without it), or it came
    # second and was refused because the wave no longer changes.
    assert remove in ("ok", "ActionNotPossible")
    state = Case.objects.get(pk=removed.pk).state
    assert state == ("signed_off" if remove == "ok" else "contractualised")
    assert_whole(wave)

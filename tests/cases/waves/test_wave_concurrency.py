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


def blocked_on_a_lock_or(done: threading.Event, timeout: float = 20) -> None:
    """Waits until another session of the test database waits on a row lock, or ``done``."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    try:
        with connection.cursor() as cursor:
            while time.monotonic() < deadline and not done.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    return
                time.sleep(0.05)
    finally:
        connection.close()


def test_a_derogation_granted_while_its_wave_is_validated_is_contractualised_with_it(
    reference_data, monkeypatch
):
    """The decision links the derogation to its territory's contract, then writes its letter;
    the wave is validated meanwhile. The wave waits for the decision and takes the
    derogation with its contract: it is never left « décidée » for good."""
    from cases.derogations import services as derogations

    wave, minister = factories.wave_of(1)
    contract = waves.contracts_of(wave)[0]
    derogation = factories.derogation_in_state(
        "ministerial_review", territory_code=contract.territory.code
    )
    writing, release, validated = threading.Event(), threading.Event(), threading.Event()
    real = derogations.render_decision_letter

    def letter_held(*args, **kwargs):
        writing.set()
        release.wait(timeout=20)
        return real(*args, **kwargs)

    monkeypatch.setattr(derogations, "render_decision_letter", letter_held)

    def decide():
        factories.grant(derogation, minister)

    def validate():
        writing.wait(timeout=20)
        try:
            waves.wave_validate(wave=wave, actor=minister)
        finally:
            validated.set()

    def then_release():
        writing.wait(timeout=20)
        blocked_on_a_lock_or(validated)
        release.set()

    assert in_threads(decide, validate, then_release) == ["ok", "ok", "ok"]
    assert Case.objects.get(pk=contract.pk).state == "contractualised"
    decided = Case.objects.get(pk=derogation.pk)
    assert decided.state == "contractualised"
    wave.refresh_from_db()
    assert wave.validated_at is not None

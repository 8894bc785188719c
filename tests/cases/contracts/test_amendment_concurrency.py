"""An avenant and its contract acted on at the same moment, on PostgreSQL: the contract is
locked before its avenant by every service, so that they wait on each other, never deadlock."""

import threading

import pytest

from cases.contracts import amendments
from cases.kernel import services
from cases.models import Case
from tests import factories
from tests.cases.contracts.test_amendment_rules import amendment_in_state
from tests.cases.waves.test_wave_concurrency import blocked_on_a_lock_or, in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sign_off_and_a_comment_on_its_contract_wait_for_each_other(reference_data, monkeypatch):
    """The ministry signs the avenant off (its EPCI told, their notification numbers taken)
    while the Region comments on the contract (the same EPCI to tell). Before, the sign-off
    locked the contract only then, the comment held it and waited for those numbers: a
    deadlock, a 500 for one of them."""
    amendment = amendment_in_state("ministerial_review")
    contract = amendment.parent
    region = factories.region_reviewer(contract.territory.pilot_region.code)
    minister = factories.ministry_agent()
    told, resumed, done = threading.Event(), threading.Event(), threading.Event()
    real = amendments.lock_case

    def parent_locked_late(case):
        signed_off = Case.objects.filter(pk=amendment.pk, state="signed_off").exists()
        if case.pk == contract.pk and signed_off and not told.is_set():
            # Inside the sign-off, once recorded (its EPCI told and numbered), as the
            # contract is written: the comment comes now.
            told.set()
            resumed.wait(timeout=20)
        return real(case)

    monkeypatch.setattr(amendments, "lock_case", parent_locked_late)

    def sign_off():
        services.case_sign_off(case=amendment, actor=minister)

    def comment():
        told.wait(timeout=20)
        try:
            services.comment_add(case=contract, actor=region, body="Calendrier reçu.")
        finally:
            done.set()

    def then_resume():
        told.wait(timeout=20)
        blocked_on_a_lock_or(done)
        resumed.set()

    assert in_threads(sign_off, comment, then_resume) == ["ok", "ok", "ok"]
    assert Case.objects.get(pk=amendment.pk).state == "signed_off"
    assert contract.comments.count() == 1

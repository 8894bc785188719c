"""Two people acting on the same case at once, on PostgreSQL: exactly one wins."""

import threading
from functools import partial

import pytest
from django.db import connections

from cases.kernel import services
from cases.models import Case, CaseEvent
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
RACES = 100


def race(*actions) -> list[str]:
    """Run the actions in threads released together; return each outcome, sorted."""
    barrier = threading.Barrier(len(actions))
    outcomes = []

    def run(action):
        try:
            barrier.wait(timeout=10)
            action()
            outcomes.append("ok")
        except services.CaseActionError as error:
            outcomes.append(type(error).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_same_transition_raced_a_hundred_times(reference_data):
    reviewers = [factories.region_reviewer("84"), factories.region_reviewer("84")]
    author = factories.epci_agent("200000172")
    double_wins = 0
    for _ in range(RACES):
        contract = factories.contract_in_state("regional_review", author=author)
        outcomes = race(
            *(partial(services.case_approve, case=contract, actor=r) for r in reviewers)
        )
        assert outcomes == ["ActionNotPossible", "ok"], outcomes
        double_wins += CaseEvent.objects.filter(case=contract, name="approve").count() != 1
        assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    assert double_wins == 0


def test_conflicting_transitions_on_the_version_seen(reference_data):
    author = factories.epci_agent("200000172")
    reviewer = factories.region_reviewer("84")
    for _ in range(20):
        contract = factories.contract_in_state("regional_review", author=author)
        seen = contract.version
        outcomes = race(
            partial(services.case_withdraw, case=contract, actor=author, expected_version=seen),
            partial(
                services.case_request_changes,
                case=contract,
                actor=reviewer,
                comment="À revoir",
                expected_version=seen,
            ),
        )
        assert outcomes == ["StaleCase", "ok"], outcomes
        assert CaseEvent.objects.filter(case=contract, kind="transition").count() == 2

"""Two people acting on the same case at once, on PostgreSQL: exactly one wins."""

import threading

import pytest
from django.db import connections

from cases import services
from cases.models import Case, CaseEvent
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
RACES = 100


def race(contract, actors, name, expected_version=None):
    barrier = threading.Barrier(len(actors))
    outcomes = []

    def act(actor):
        try:
            barrier.wait(timeout=10)
            services.run_transition(
                case=contract,
                actor=actor,
                name=name,
                comment="Avis motivé",
                expected_version=expected_version,
            )
            outcomes.append("ok")
        except services.CaseActionError as error:
            outcomes.append(type(error).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=act, args=(actor,)) for actor in actors]
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
        outcomes = race(contract, reviewers, "approve")
        assert outcomes == ["ActionNotPossible", "ok"], outcomes
        events = CaseEvent.objects.filter(case=contract, name="approve").count()
        double_wins += events != 1
        assert Case.objects.get(pk=contract.pk).state == "ministerial_review"
    assert double_wins == 0


def test_conflicting_transitions_with_the_version_seen(reference_data):
    author = factories.epci_agent("200000172")
    reviewer = factories.region_reviewer("84")
    for _ in range(20):
        contract = factories.contract_in_state("regional_review", author=author)
        outcomes = race(contract, [author, reviewer], "withdraw", contract.version)
        # The reviewer may not withdraw: the agent's withdrawal is the only possible winner.
        assert "ok" in outcomes
        contract = factories.contract_in_state("regional_review", author=author)
        version = contract.version
        barrier_outcomes = []

        def withdraw():
            try:
                services.case_withdraw(case=contract, actor=author, expected_version=version)
                barrier_outcomes.append("ok")
            except services.CaseActionError as error:
                barrier_outcomes.append(type(error).__name__)
            finally:
                connections.close_all()

        def request_changes():
            try:
                services.case_request_changes(
                    case=contract, actor=reviewer, comment="À revoir", expected_version=version
                )
                barrier_outcomes.append("ok")
            except services.CaseActionError as error:
                barrier_outcomes.append(type(error).__name__)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=withdraw), threading.Thread(target=request_changes)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(barrier_outcomes) == ["StaleCase", "ok"], barrier_outcomes
        assert CaseEvent.objects.filter(case=contract, kind="transition").count() == 2

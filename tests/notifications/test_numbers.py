"""Each user's notifications are numbered 1, 2, 3… in commit order with no gap, on PostgreSQL,
even when two transactions tell the same user at once."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from cases.kernel import services
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


class HeldOpen:
    """Submits a contract in a thread and keeps the transaction open until told to end it,
    by a commit or by a rollback."""

    def __init__(self, contract, author, *, roll_back: bool):
        self.numbered, self.release = threading.Event(), threading.Event()
        self.roll_back = roll_back
        self.thread = threading.Thread(target=self.run, args=(contract, author))

    def run(self, contract, author):
        try:
            with transaction.atomic():
                services.case_submit(case=contract, actor=author)
                self.numbered.set()
                self.release.wait(timeout=20)
                if self.roll_back:
                    transaction.set_rollback(True)
        finally:
            connections.close_all()


def in_thread(function, **kwargs) -> threading.Thread:
    def run():
        try:
            function(**kwargs)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_a_session_waits_for_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("aucune transaction n'attend de verrou")


def numbers_of(user) -> list[tuple[int, int]]:
    rows = Notification.objects.filter(recipient=user).order_by("seq")
    return list(rows.values_list("seq", "case_id"))


@pytest.mark.parametrize("roll_back", [False, True])
def test_a_second_transaction_waits_and_takes_the_next_number(reference_data, roll_back):
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    first, second = (factories.contract_in_state("draft", author=author) for _ in range(2))
    held = HeldOpen(first, author, roll_back=roll_back)
    held.thread.start()
    assert held.numbered.wait(timeout=20)
    other = in_thread(services.case_submit, case=second, actor=author)
    # The second one cannot number the reviewer's notification while the first holds it.
    wait_until_a_session_waits_for_a_lock()
    assert other.is_alive()
    held.release.set()
    held.thread.join(timeout=20)
    other.join(timeout=20)
    if roll_back:
        # The number the rolled-back transaction had taken is given again: no gap.
        assert numbers_of(reviewer) == [(1, second.pk)]
    else:
        assert numbers_of(reviewer) == [(1, first.pk), (2, second.pk)]


def test_numbers_are_per_recipient_and_without_gap(reference_data):
    author = factories.epci_agent("200000172")
    reviewer, other_region = factories.region_reviewer("84"), factories.region_reviewer("28")
    for _ in range(3):
        services.case_submit(case=factories.contract_in_state("draft", author=author), actor=author)
    caen = factories.contract_in_state("draft", territory_code="2802")
    services.case_submit(case=caen, actor=caen.created_by)
    assert [seq for seq, _ in numbers_of(reviewer)] == [1, 2, 3]
    assert [seq for seq, _ in numbers_of(other_region)] == [1]

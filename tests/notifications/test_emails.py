"""E-mails through a real SMTP server on loopback, sent by the real worker process."""

import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from cases.kernel import services
from notifications.emails import send_digests
from notifications.models import Notification, NotificationSettings
from tests import factories
from tests.support import free_port, worker_process

pytestmark = pytest.mark.django_db(transaction=True)


class Mailbox:
    """Accepts every message, or refuses the first ``refuse`` ones with a temporary error."""

    def __init__(self, refuse: int = 0):
        self.messages = []
        self.refused = 0
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refuse:
            self.refused += 1
            return "451 Essayez plus tard"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp():
    def start(refuse: int = 0):
        mailbox = Mailbox(refuse)
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return mailbox, controller.port

    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("délai dépassé")
        time.sleep(0.1)


def worker(port: int):
    return worker_process(
        connection.settings_dict["NAME"],
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port),
        EMAIL_RETRY_SECONDS="0.5",
    )


def subject(message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def test_an_instant_email_is_sent_after_commit_by_the_worker(reference_data, smtp):
    mailbox, port = smtp()
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=author)
    with worker(port):
        services.case_submit(case=contract, actor=author)
        wait_for(lambda: mailbox.messages)
    recipients, message = mailbox.messages[0]
    assert recipients == [reviewer.email]
    assert contract.reference in subject(message)
    notification = Notification.objects.get(recipient=reviewer)
    assert notification.emailed_at is not None


def test_a_failing_smtp_server_never_fails_the_transition_and_is_retried(reference_data, smtp):
    mailbox, port = smtp(refuse=2)
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=author)
    with worker(port):
        services.case_submit(case=contract, actor=author)
        assert contract.__class__.objects.get(pk=contract.pk).state == "regional_review"
        wait_for(lambda: mailbox.messages)
    assert mailbox.refused == 2
    assert [recipients for recipients, _ in mailbox.messages] == [[reviewer.email]]


def test_one_task_per_event_and_only_the_refused_mail_is_sent_again(reference_data, smtp):
    from django_tasks_db.models import DBTaskResult

    mailbox, port = smtp(refuse=1)
    author = factories.epci_agent("200000172")
    reviewers = [factories.region_reviewer("84") for _ in range(3)]
    contract = factories.contract_in_state("draft", author=author)
    services.case_submit(case=contract, actor=author)
    # The commit queued one task for the three mails, not one insert per recipient.
    assert DBTaskResult.objects.count() == 1
    with worker(port):
        wait_for(lambda: len(mailbox.messages) == 3)
        time.sleep(1.0)  # a mail sent twice would arrive by now
    assert mailbox.refused == 1
    delivered = sorted(recipient for recipients, _ in mailbox.messages for recipient in recipients)
    assert delivered == sorted(reviewer.email for reviewer in reviewers)
    assert not Notification.objects.filter(recipient__in=reviewers, emailed_at=None).exists()


def test_the_email_task_is_written_in_the_transition_and_goes_with_its_rollback(reference_data):
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    author = factories.epci_agent("200000172")
    factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=author)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        services.case_submit(case=contract, actor=author)
        # Already there, before the commit: nothing can come between the rows and their task.
        assert DBTaskResult.objects.count() == 1
        raise Abandoned
    assert DBTaskResult.objects.count() == 0
    assert not Notification.objects.exists()
    services.case_submit(case=contract, actor=author)
    assert DBTaskResult.objects.count() == 1


def test_a_digest_lists_what_was_not_yet_sent_and_nothing_goes_to_those_who_chose_none(
    reference_data, smtp
):
    mailbox, port = smtp()
    author = factories.epci_agent("200000172")
    digest_reader, silent = factories.region_reviewer("84"), factories.region_reviewer("84")
    NotificationSettings.objects.create(user=digest_reader, email="digest")
    NotificationSettings.objects.create(user=silent, email="none")
    contracts = [factories.contract_in_state("draft", author=author) for _ in range(2)]
    with worker(port):
        for contract in contracts:
            services.case_submit(case=contract, actor=author)
        time.sleep(1.0)
        assert mailbox.messages == []  # no instant mail for either of them
        send_digests.enqueue()
        wait_for(lambda: mailbox.messages)
    assert len(mailbox.messages) == 1
    recipients, message = mailbox.messages[0]
    assert recipients == [digest_reader.email]
    body = message.get_payload(decode=True).decode()
    assert all(contract.reference in body for contract in contracts)
    assert subject(message) == "[Territoires d'industrie] 2\u00a0nouvelles notifications"
    assert "sur vos dossiers\u00a0:" in body
    assert not Notification.objects.filter(recipient=digest_reader, emailed_at=None).exists()
    assert not Notification.objects.filter(recipient=silent).exclude(emailed_at=None).exists()


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2019-03-04T07:00", "2019-03-04T08:00"),  # Monday before 8:00: the same morning
        ("2019-03-04T09:00", "2019-03-05T08:00"),  # Monday after 8:00: Tuesday
        ("2019-03-08T09:00", "2019-03-11T08:00"),  # Friday after 8:00: Monday
        ("2019-03-09T12:00", "2019-03-11T08:00"),  # Saturday: Monday
    ],
)
def test_digests_go_out_on_weekday_mornings_paris_time(now, expected):
    from datetime import datetime

    from notifications.emails import PARIS, next_digest_time

    after = datetime.fromisoformat(now).replace(tzinfo=PARIS)
    assert next_digest_time(after) == datetime.fromisoformat(expected).replace(tzinfo=PARIS)


def test_a_mail_queued_under_the_old_per_mail_task_is_still_sent(reference_data, smtp):
    from notifications.emails import send_instant_email

    mailbox, port = smtp()
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    NotificationSettings.objects.create(user=reviewer, email="none")
    services.case_submit(case=factories.contract_in_state("draft", author=author), actor=author)
    notification = Notification.objects.get(recipient=reviewer)
    NotificationSettings.objects.filter(user=reviewer).update(email="instant")
    send_instant_email.enqueue(notification.pk)
    with worker(port):
        wait_for(lambda: mailbox.messages)
    assert [recipients for recipients, _ in mailbox.messages] == [[reviewer.email]]


def test_a_mail_left_by_a_worker_stopped_mid_task_is_sent_by_the_next_one(reference_data, smtp):
    """The worker died while sending: its task stays « running » for good. The next worker
    sends what it had not, once; a mail already sent is not sent again."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    mailbox, port = smtp()
    author, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=author)
    services.case_submit(case=contract, actor=author)
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)  # claimed by the dead worker
    sent_before = factories.region_reviewer("84", email="deja.envoye@region.test")
    services.comment_add(case=contract, actor=author, body="Calendrier joint.")
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)
    Notification.objects.filter(recipient=sent_before).update(emailed_at=timezone.now())
    with worker(port):
        wait_for(lambda: len(mailbox.messages) >= 2)
        time.sleep(1)  # nothing more comes
    to = sorted(recipient for recipients, _ in mailbox.messages for recipient in recipients)
    assert to == [reviewer.email, reviewer.email]
    assert not Notification.objects.filter(recipient=reviewer, emailed_at__isnull=True).exists()

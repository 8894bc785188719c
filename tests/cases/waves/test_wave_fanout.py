"""A wave's validation tells each party once for the wave, naming its own contracts in it;
its cost per contract is counted in SQL statements, so that it cannot silently grow again
(issue 15: told once per contract, a wave of 150 contracts wrote about 103,000 rows)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from cases.kernel.hooks import CaseAnnouncement
from cases.models import CaseEvent
from cases.waves import services as waves
from notifications import delivery
from notifications.models import Notification, NotificationSequence
from notifications.recipients import recipients
from tests import factories

pytestmark = pytest.mark.django_db

# Measured: the statements each contract of a wave costs, none of them the notifications'.
# cases: its event's insert and its row's update (2); workflows: its task read and locked,
# closed, the next task's insert and link, the count of open tasks, the process closed, and
# the case's process updated in a savepoint (10); deadlines: the clock deleted, nothing read
# for a case that leaves review (1). Told per contract, it cost 4 more: an audience read, a
# numbering upsert, an insert of rows and an e-mail task; and 2 more when deadlines read the
# rule and the transitions of a case that can have no clock.
PER_CONTRACT = 13
NOTIFICATION_TABLES = (
    Notification._meta.db_table,
    NotificationSequence._meta.db_table,
    DBTaskResult._meta.db_table,  # the instant e-mails' task
)


def wave_in(codes: list[str], *, name: str = "Vague de printemps"):
    minister = factories.ministry_agent()
    wave = waves.wave_create(actor=minister, name=name, date=date(2019, 3, 5), place="Lyon")
    for code in codes:
        contract = factories.contract_in_state("signed_off", territory_code=code)
        waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
    wave.refresh_from_db()
    return wave, minister


def test_a_party_to_several_contracts_of_a_wave_is_told_once_naming_them(client):
    reviewer = factories.region_reviewer("84")
    wave, minister = wave_in(["8401", "8402", "8403"])
    contracts = list(waves.contracts_of(wave))
    waves.wave_validate(wave=wave, actor=minister)
    told = Notification.objects.get(recipient=reviewer, kind="contractualise")
    assert told.kind == "contractualise"
    references = ", ".join(contract.reference for contract in contracts)
    assert told.text == (
        f"Vague «\u00a0Vague de printemps\u00a0» validée\u00a0: {references} contractualisés"
    )
    assert told.case_id == contracts[0].pk and told.event.case_id == contracts[0].pk
    assert told.link == reverse("wave-detail", args=[wave.pk])
    client.force_login(reviewer)
    page = client.get(told.link)
    assert page.status_code == 200
    assert all(contract.reference in page.content.decode() for contract in contracts)


def test_a_party_to_one_contract_of_the_wave_is_told_of_it_alone_with_its_link():
    wave, minister = wave_in(["8401", "8402"])
    first, second = waves.contracts_of(wave)
    waves.wave_validate(wave=wave, actor=minister)
    told = Notification.objects.get(recipient=first.created_by, kind="contractualise")
    assert told.text == (
        f"Vague «\u00a0Vague de printemps\u00a0» validée\u00a0: {first.reference} contractualisé"
    )
    assert told.link == first.get_absolute_url() and second.reference not in told.text


def test_every_recipient_is_told_once_and_may_open_its_link(client):
    wave, minister = wave_in(["8401", "8401", "8402", "2702"])
    contracts = list(waves.contracts_of(wave))
    request = factories.derogation_in_state("ministerial_review", territory_code="8401")
    factories.grant(request, minister)
    waves.wave_validate(wave=wave, actor=minister)
    rows = list(Notification.objects.filter(kind="contractualise").select_related("recipient"))
    recipients = [row.recipient_id for row in rows]
    assert len(recipients) == len(set(recipients)) > 0
    # The agents of Ardèche are party to two contracts and the derogation.
    ardeche = next(row for row in rows if row.recipient_id == contracts[0].created_by_id)
    assert request.reference in ardeche.text and ardeche.text.endswith(" contractualisés")
    for row in rows:
        client.force_login(row.recipient)
        assert client.get(row.link).status_code == 200, (row.recipient, row.link)


def test_a_wave_validation_pushes_once_nudging_every_case(
    monkeypatch, django_capture_on_commit_callbacks
):
    calls = []
    monkeypatch.setattr(delivery, "push", lambda *args, **kwargs: calls.append((args, kwargs)))
    wave, minister = wave_in(["8401", "8402", "8403"])
    contracts = list(waves.contracts_of(wave))
    with django_capture_on_commit_callbacks(execute=True):
        waves.wave_validate(wave=wave, actor=minister)
    assert len(calls) == 1
    (frames, cases), options = calls[0]
    assert list(cases) == [contract.pk for contract in contracts]
    assert not options["private"]
    assert sorted(user for user, _ in frames) == sorted(
        Notification.objects.filter(kind="contractualise").values_list("recipient", flat=True)
    )


def validation_cost(count: int) -> tuple[int, int, int, int, int]:
    """Of a validation of ``count`` contracts: its SQL statements, those of the notifications,
    the audiences read, the notification rows written, and the number of users party to one
    of its contracts."""
    codes = ["8401", "8402", "8403", "8404", "8405", "8406", "8407", "8408", "8409", "8410"]
    wave, minister = wave_in([codes[n % len(codes)] for n in range(count)])
    before = Notification.objects.filter(kind="contractualise").count()
    with CaptureQueriesContext(connection) as captured:
        waves.wave_validate(wave=wave, actor=minister)
    notifying = [
        query["sql"]
        for query in captured.captured_queries
        if any(table in query["sql"] for table in NOTIFICATION_TABLES)
    ]
    audiences = [
        query for query in captured.captured_queries if 'FROM "accounts_user"' in query["sql"]
    ]
    parties: set[int] = set()
    told_per_contract = 0
    for contract in waves.contracts_of(wave):
        event = CaseEvent.objects.get(case=contract, name="contractualise")
        users = recipients(CaseAnnouncement(case=contract, event=event, actor=minister))
        parties.update(users)
        told_per_contract += len(users)
    assert told_per_contract > len(parties)  # else the test would not tell the two apart
    rows = Notification.objects.filter(kind="contractualise").count() - before
    return len(captured), len(notifying), len(audiences), rows, len(parties)


def test_the_cost_of_a_validation_grows_by_a_fixed_number_of_statements_per_contract():
    # The same ten territories in both waves, so that as many audiences are read (one per
    # territory); what differs is the number of contracts, and of the reviewers they brought
    # (the factories make a new one per contract).
    small_total, small_notifying, small_audiences, small_rows, small_parties = validation_cost(10)
    big_total, big_notifying, big_audiences, big_rows, big_parties = validation_cost(20)
    # One numbering upsert, one insert of the rows and one e-mail task, whatever the size;
    # one audience read per territory (here ten), not per contract.
    assert small_notifying == big_notifying == 3
    assert small_audiences == big_audiences == 10
    # One row per party, not one per contract and party.
    assert (small_rows, big_rows) == (small_parties, big_parties)
    assert (big_total - small_total) / 10 <= PER_CONTRACT

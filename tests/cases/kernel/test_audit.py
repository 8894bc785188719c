import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.kernel import services
from cases.kernel.audit import verify_case
from cases.models import CaseEvent, WaveEvent
from cases.waves.audit import verify_wave
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    contract = factories.contract_in_state("ministerial_review")
    reviewer = factories.region_reviewer("84")
    services.comment_add(case=contract, actor=reviewer, body="Note interne", private=True)
    contract.refresh_from_db()
    return contract


def test_chain_holds_after_real_activity(contract, capsys):
    assert contract.event_count == CaseEvent.objects.filter(case=contract).count() >= 5
    assert verify_case(contract) is None
    call_command("verify_audit")
    assert "chaînes intactes" in capsys.readouterr().out


def tamper(sql: str, params: list) -> None:
    # Straight to the database, as an intruder would, bypassing the append-only model.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_altered_event_is_named(contract):
    target = CaseEvent.objects.get(case=contract, seq=3)
    tamper("UPDATE cases_caseevent SET comment = %s WHERE id = %s", ["falsifié", target.pk])
    with pytest.raises(
        CommandError,
        match=rf"{contract.reference} : événement n°3 \(id {target.pk}\) : contenu modifié",
    ):
        call_command("verify_audit")


def test_altered_payload_is_named(contract):
    target = CaseEvent.objects.get(case=contract, seq=2)
    tamper(
        "UPDATE cases_caseevent SET payload = %s WHERE id = %s",
        ['{"action": 1, "fields": {"total_cost": "1.00"}}', target.pk],
    )
    with pytest.raises(CommandError, match=r"événement n°2 .* contenu modifié"):
        call_command("verify_audit")


def test_deleted_event_is_named(contract):
    target = CaseEvent.objects.get(case=contract, seq=2)
    tamper("DELETE FROM cases_caseevent WHERE id = %s", [target.pk])
    with pytest.raises(CommandError, match=r"événement n°3 .* numéro 2 attendu"):
        call_command("verify_audit")


def test_deleted_last_event_is_seen(contract):
    last = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    # Whoever deletes an event must first delete what refers to it.
    tamper("DELETE FROM notifications_notification WHERE event_id = %s", [last.pk])
    tamper("DELETE FROM cases_caseevent WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match="fin de chaîne supprimée"):
        call_command("verify_audit")


def test_reordered_events_are_named(contract):
    second = CaseEvent.objects.get(case=contract, seq=2)
    third = CaseEvent.objects.get(case=contract, seq=3)
    tamper("UPDATE cases_caseevent SET seq = 1000 WHERE id = %s", [second.pk])
    tamper("UPDATE cases_caseevent SET seq = 2 WHERE id = %s", [third.pk])
    tamper("UPDATE cases_caseevent SET seq = 3 WHERE id = %s", [second.pk])
    with pytest.raises(CommandError, match=rf"événement n°2 \(id {third.pk}\) : ne suit pas"):
        call_command("verify_audit")


def test_events_cannot_be_changed_through_the_orm(contract):
    event = CaseEvent.objects.filter(case=contract).first()
    with pytest.raises(ValueError, match="que des ajouts"):
        event.save()
    with pytest.raises(ValueError, match="que des ajouts"):
        event.delete()


def count_transition_queries(contract, reviewer) -> int:
    with CaptureQueriesContext(connection) as queries:
        services.case_approve(case=contract, actor=reviewer)
    return len(queries)


def test_statements_per_transition_are_few_and_do_not_grow_with_history():
    reviewer = factories.region_reviewer("84")
    short = factories.contract_in_state("regional_review")
    long = factories.contract_in_state("draft")
    agent = factories.epci_agent("200000172")
    for number in range(200 - long.event_count):
        services.comment_add(case=long, actor=agent, body=f"Commentaire {number}")
    services.case_submit(case=long, actor=agent)
    long.refresh_from_db()
    assert long.event_count >= 200 and short.event_count < 10
    short_count = count_transition_queries(short, reviewer)
    long_count = count_transition_queries(long, reviewer)
    assert short_count == long_count
    print("statements per transition:", short_count)
    # 11 for the transition itself; 3 for its deadline clock (deadlines.clocks.refresh: the
    # rule, the transitions with the territory's départements, the clock's upsert); 1 for the
    # webhook outbox (api.webhooks.outbox.subscribed: who subscribes to transitions, needed to
    # write their rows in the same transaction). The case's copy of its due date for the
    # lists goes out with the case's own UPDATE.
    assert short_count <= 15, short_count


def test_the_due_date_goes_out_with_the_case_not_in_an_update_of_its_own():
    reviewer = factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review")
    before = contract.due_on
    with CaptureQueriesContext(connection) as queries:
        services.case_approve(case=contract, actor=reviewer)
    contract.refresh_from_db()
    assert contract.due_on is not None and contract.due_on != before
    case_updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "cases_case"')]
    assert len(case_updates) == 1, case_updates
    assert '"due_on"' in case_updates[0]


# The waves' chains: the same checks, through the same command.


@pytest.fixture
def wave():
    wave, _ = factories.wave_of(3)
    assert wave.event_count == WaveEvent.objects.filter(wave=wave).count() == 4
    return wave


def test_wave_chain_holds_after_real_activity(wave, capsys):
    assert verify_wave(wave) is None
    call_command("verify_audit")
    assert "1 vague(s) vérifiés : chaînes intactes" in capsys.readouterr().out


def test_altered_wave_event_is_named(wave):
    target = WaveEvent.objects.get(wave=wave, seq=2)
    tamper("UPDATE cases_waveevent SET payload = %s WHERE id = %s", ['{"contract": 1}', target.pk])
    with pytest.raises(
        CommandError, match=rf"Vague « {wave.name} » : événement n°2 \(id {target.pk}\) : contenu"
    ):
        call_command("verify_audit")


def test_deleted_wave_event_is_named(wave):
    target = WaveEvent.objects.get(wave=wave, seq=2)
    tamper("DELETE FROM cases_waveevent WHERE id = %s", [target.pk])
    with pytest.raises(CommandError, match=r"Vague .* événement n°3 .* numéro 2 attendu"):
        call_command("verify_audit")


def test_deleted_last_wave_event_is_seen(wave):
    last = WaveEvent.objects.get(wave=wave, seq=4)
    tamper("DELETE FROM cases_waveevent WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match=r"Vague .* fin de chaîne supprimée"):
        call_command("verify_audit")


def test_reordered_wave_events_are_named(wave):
    second = WaveEvent.objects.get(wave=wave, seq=2)
    third = WaveEvent.objects.get(wave=wave, seq=3)
    tamper("UPDATE cases_waveevent SET seq = 1000 WHERE id = %s", [second.pk])
    tamper("UPDATE cases_waveevent SET seq = 2 WHERE id = %s", [third.pk])
    tamper("UPDATE cases_waveevent SET seq = 3 WHERE id = %s", [second.pk])
    with pytest.raises(CommandError, match=rf"événement n°2 \(id {third.pk}\) : ne suit pas"):
        call_command("verify_audit")


def test_wave_events_cannot_be_changed_through_the_orm(wave):
    event = WaveEvent.objects.filter(wave=wave).first()
    with pytest.raises(ValueError, match="que des ajouts"):
        event.save()
    with pytest.raises(ValueError, match="que des ajouts"):
        event.delete()

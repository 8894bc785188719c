"""What a wave's validation locks, and what it leaves on disk when its commit fails."""

import threading
from datetime import date

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, connections
from django.test.utils import CaptureQueriesContext

from cases.kernel import services
from cases.models import Case, TerritoryContract, WaveDocument
from cases.waves import services as waves
from tests import factories
from tests.support import database_url_for

pytestmark = pytest.mark.django_db(transaction=True)


def try_lock(model, pk: int) -> str:
    """From a connection of its own, try to lock one row without waiting."""
    table, key = model._meta.db_table, model._meta.pk.column
    url = database_url_for(connection.settings_dict["NAME"])
    with psycopg.connect(url, autocommit=False) as other:
        try:
            other.execute(f"SELECT 1 FROM {table} WHERE {key} = %s FOR UPDATE NOWAIT", [pk])  # noqa: S608
        except psycopg.errors.LockNotAvailable:
            return "locked"
        finally:
            other.rollback()
    return "free"


def test_validation_locks_the_cases_and_not_their_territory_nor_region(reference_data, monkeypatch):
    wave, minister = factories.wave_of(2)
    first = waves.contracts_of(wave).first()
    territory, region = first.territory, first.territory.pilot_region
    inside, release = threading.Event(), threading.Event()
    real = waves.case_contractualise

    def paused(*, case, **kwargs):
        # Every contract is locked by now: hold the transaction open while the test looks.
        inside.set()
        release.wait(timeout=20)
        return real(case=case, **kwargs)

    monkeypatch.setattr(waves, "case_contractualise", paused)
    errors: list[BaseException] = []

    def validate():
        try:
            waves.wave_validate(wave=wave, actor=minister)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=validate)
    thread.start()
    try:
        assert inside.wait(timeout=20)
        seen = {
            "territory": try_lock(type(territory), territory.pk),
            "region": try_lock(type(region), region.pk),
            "case": try_lock(Case, first.pk),
            "contract": try_lock(TerritoryContract, first.pk),
        }
    finally:
        release.set()
        thread.join(timeout=30)
    assert errors == []
    assert seen == {"territory": "free", "region": "free", "case": "locked", "contract": "locked"}


def test_every_for_update_of_a_validation_names_only_its_own_tables(reference_data):
    wave, minister = factories.wave_of(1)
    contract = waves.contracts_of(wave).get()
    factories.derogation_in_state("decided", territory_code=contract.territory.code)
    with CaptureQueriesContext(connection) as captured:
        waves.wave_validate(wave=wave, actor=minister)
    locking = [query["sql"] for query in captured if "FOR UPDATE" in query["sql"]]
    assert locking
    for sql in locking:
        assert "territories_" not in sql.split("FOR UPDATE", 1)[1], sql
    # The contracts' own lock (the derogations' reads the contracts' territories in a subquery).
    contract_lock = next(
        sql for sql in locking if 'FROM "cases_territorycontract"' in sql.split(" WHERE ", 1)[0]
    )
    assert 'FOR UPDATE OF "cases_territorycontract", "cases_case"' in contract_lock


def test_a_failed_commit_leaves_no_wave_pdf_on_disk(reference_data, settings, monkeypatch):
    wave, minister = factories.wave_of(2)
    real = waves._finish_validation

    def then_break_a_deferred_key(locked, actor, contracts, derogations, document, now):
        real(locked, actor, contracts, derogations, document, now)
        # Foreign keys are checked at commit: the PDF is on disk, and the commit will fail.
        WaveDocument.objects.filter(pk=document.pk).update(wave_id=10**9)
        assert (settings.MEDIA_ROOT / document.file.name).exists()

    monkeypatch.setattr(waves, "_finish_validation", then_break_a_deferred_key)
    with pytest.raises(IntegrityError):
        waves.wave_validate(wave=wave, actor=minister)
    stored = settings.MEDIA_ROOT / "waves"
    assert not stored.exists() or not any(path.is_file() for path in stored.rglob("*"))
    assert not WaveDocument.objects.exists()
    wave.refresh_from_db()
    assert wave.state == "planned"


def test_a_pdf_whose_row_is_refused_leaves_no_file(reference_data, settings, monkeypatch):
    wave, minister = factories.wave_of(1)

    def refused(self, *args, **kwargs):
        raise DatabaseError("statement timeout")

    monkeypatch.setattr(WaveDocument, "save", refused)
    with pytest.raises(DatabaseError):
        waves.wave_validate(wave=wave, actor=minister)
    stored = settings.MEDIA_ROOT / "waves"
    assert not stored.exists() or not any(path.is_file() for path in stored.rglob("*"))
    wave.refresh_from_db()
    assert wave.state == "planned"


def test_the_other_locks_of_cases_take_no_territory_row(reference_data):
    minister = factories.ministry_agent()
    contract = factories.contract_in_state("ministerial_review")
    wave = waves.wave_create(actor=minister, name="Vague", date=date(2019, 3, 5), place="Lyon")
    with CaptureQueriesContext(connection) as captured:
        services.case_sign_off(case=contract, actor=minister)
        waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
    locking = [query["sql"] for query in captured if "FOR UPDATE" in query["sql"]]
    assert len(locking) >= 3
    for sql in locking:
        assert '"territories_' not in sql, sql

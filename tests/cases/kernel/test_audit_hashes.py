"""The hashes of the audit chains are frozen: rows already stored carry them, and
verify_audit recomputes them, so any change to what is hashed (or how) would show every
existing chain as tampered with. The expected digests were computed once, on these fixed
inputs, by the code that wrote the databases in service."""

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import cast

import pytest

from cases.kernel import services
from cases.kernel.audit import GENESIS, event_hash, normalise
from cases.models import CaseEvent, Wave, WaveEvent
from cases.waves.audit import append_wave_event, wave_event_hash
from tests import factories

# Not UTC on purpose: the hash takes the instant in UTC, whatever the zone it was given in.
SUMMER = timezone(timedelta(hours=2))
AT = datetime(2026, 3, 14, 11, 26, 53, 589793, tzinfo=SUMMER)
FIRST = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def case_event_fields() -> dict:
    return {
        "case_id": 7,
        "seq": 3,
        "kind": "transition",
        "name": "approve",
        "actor_id": 42,
        "created_at": AT,
        "from_state": "regional_review",
        "to_state": "ministerial_review",
        "comment": "Avis favorable : « très bien »",
        "private": True,
        "payload": normalise(
            {
                "action": 12,
                "fields": {"total_cost": Decimal("1250.50"), "on": date(2026, 3, 14)},
                "note": "Élan « sûr »",
            }
        ),
        "prev_hash": "ab" * 32,
    }


def wave_event_fields() -> dict:
    return {
        "wave_id": 5,
        "seq": 2,
        "name": "add",
        "actor_id": 42,
        "created_at": AT,
        "payload": normalise(
            {"contract": 9, "reference": "CT-2026-0009", "label": "Vague « été »"}
        ),
        "prev_hash": "cd" * 32,
    }


CASE_EVENT_HASH = "f4dc565d6cc3da4b6f259c25dbfbbd9b4e82e8fb4b5644d14f9f632ffd52880e"
FIRST_CASE_EVENT_HASH = "3d93a8962a7bf4526d3483a03e2a364dba7d0f775c5799a9841fe6222b47ab6d"
WAVE_EVENT_HASH = "6ce3c3c45a31b11f5d4eb40bad2d0c864326e2ca020d9d54ab83446e5019724b"
FIRST_WAVE_EVENT_HASH = "3975ad1265ce388fe354ebd9d1dfe1729498386e92c7a800f7a7cf27176575de"


def test_a_case_event_hash_is_unchanged():
    assert event_hash(CaseEvent(**case_event_fields())) == CASE_EVENT_HASH


def test_a_first_case_event_without_actor_hash_is_unchanged():
    event = CaseEvent(
        case_id=1, seq=1, kind="creation", actor_id=None, created_at=FIRST, prev_hash=GENESIS
    )
    assert event_hash(event) == FIRST_CASE_EVENT_HASH


def test_a_wave_event_hash_is_unchanged():
    assert wave_event_hash(WaveEvent(**wave_event_fields())) == WAVE_EVENT_HASH


def test_a_first_wave_event_without_actor_hash_is_unchanged():
    event = WaveEvent(
        wave_id=1, seq=1, name="create", actor_id=None, created_at=FIRST, prev_hash=GENESIS
    )
    assert wave_event_hash(event) == FIRST_WAVE_EVENT_HASH


def test_the_hashes_need_only_the_hashed_attributes():
    # seed_scale hashes rows it writes with COPY from plain objects, not model instances.
    case_row = SimpleNamespace(**case_event_fields())
    wave_row = SimpleNamespace(**wave_event_fields())
    assert event_hash(cast(CaseEvent, case_row)) == CASE_EVENT_HASH
    assert wave_event_hash(cast(WaveEvent, wave_row)) == WAVE_EVENT_HASH


def stored_digest(content: dict) -> str:
    """The canonical form the stored rows were hashed in, spelt out here rather than taken
    from cases.kernel.audit so that a change there cannot change the expectation with it."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.django_db
def test_appending_a_case_event_stores_the_frozen_construction():
    contract = factories.contract_in_state("draft")
    agent = factories.epci_agent("200000172")
    head, count = contract.audit_head, contract.event_count
    services.comment_add(case=contract, actor=agent, body="Commentaire « figé »")
    event = CaseEvent.objects.get(case=contract, seq=count + 1)
    assert event.prev_hash == head
    expected = stored_digest(
        {
            "case": contract.pk,
            "seq": count + 1,
            "kind": event.kind,
            "name": event.name,
            "actor": agent.pk,
            "created_at": event.created_at.astimezone(UTC).isoformat(),
            "from_state": event.from_state,
            "to_state": event.to_state,
            "comment": event.comment,
            "private": event.private,
            "payload": event.payload,
            "prev_hash": head,
        }
    )
    assert event.hash == expected
    contract.refresh_from_db()
    assert (contract.event_count, contract.audit_head) == (count + 1, expected)


@pytest.mark.django_db
def test_appending_a_wave_event_stores_the_frozen_construction():
    creator = factories.ministry_agent()
    now = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    wave = Wave.objects.create(
        name="Vague figée", date=date(2026, 6, 1), place="Paris", created_by=creator,
        created_at=now, updated_at=now,
    )  # fmt: skip
    payload = {"amount": Decimal("10.00"), "on": date(2026, 6, 1)}
    first = append_wave_event(wave, name="create", actor=creator, payload=payload, at=now)
    second = append_wave_event(wave, name="note", actor=None, payload={}, at=AT)
    expected_first = stored_digest(
        {
            "wave": wave.pk,
            "seq": 1,
            "name": "create",
            "actor": creator.pk,
            "created_at": "2026-03-14T09:26:53.589793+00:00",
            "payload": {"amount": "10.00", "on": "2026-06-01"},
            "prev_hash": GENESIS,
        }
    )
    expected_second = stored_digest(
        {
            "wave": wave.pk,
            "seq": 2,
            "name": "note",
            "actor": None,
            "created_at": "2026-03-14T09:26:53.589793+00:00",
            "payload": {},
            "prev_hash": expected_first,
        }
    )
    assert (first.hash, second.hash) == (expected_first, expected_second)
    assert WaveEvent.objects.get(pk=second.pk).prev_hash == expected_first
    assert (wave.event_count, wave.audit_head) == (2, expected_second)


@pytest.mark.parametrize("model", [CaseEvent, WaveEvent])
def test_each_hash_binds_the_event_to_its_owner_place_and_predecessor(model):
    # Without these three a copied, moved or reordered event would still verify.
    assert {model.chain_owner, "seq", "prev_hash"} <= set(model.hashed_fields)
    assert "hash" not in model.hashed_fields

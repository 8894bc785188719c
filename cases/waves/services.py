"""Contractualisation waves: the ministry composes a wave of signed-off contracts and
validates it in one atomic step: every contract (and its granted derogations) is
contractualised, or none is."""

import datetime
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.actors import actors_read_once
from accounts.models import User
from cases.contracts import signing
from cases.contracts.models import Axis, FinancingLine, Funder, TerritoryContract, contractualising
from cases.derogations.models import DerogationRequest, Outcome
from cases.kernel import hooks
from cases.kernel import permissions as perms
from cases.kernel.models import Case
from cases.kernel.services import (
    ActionForbidden,
    ActionNotPossible,
    InvalidInput,
    check_plain_text,
    run_declared_transition,
)
from cases.waves.audit import append_wave_event
from cases.waves.documents import WaveLine, WaveSummary, render_wave_pdf
from cases.waves.models import Wave, WaveDocument, WaveItem, WaveState


class WaveValidationFailed(ActionNotPossible):
    """Some contracts fail their checks: the message lists each one and why."""


def _require_ministry(actor: User) -> None:
    if not perms.is_ministry_agent(actor):
        raise ActionForbidden("Seuls les agents du ministère composent et valident les vagues.")


# ``method``: a wave's django-fsm transition, bound; what django-fsm sets on it at run time
# (``_django_fsm``) its type does not say.
def _require_permitted(method: Any, actor: User) -> None:
    """The permission the wave's transition declares, whatever the state of this copy (the
    state is checked under the lock)."""
    declared = method._django_fsm.get_transition(WaveState.PLANNED)
    if not declared.has_perm(method.__self__, actor):
        raise ActionForbidden("Seuls les agents du ministère composent et valident les vagues.")


def _lock(wave: Wave) -> Wave:
    return Wave.objects.select_for_update().get(pk=wave.pk)


def _require_planned(locked: Wave) -> None:
    if locked.state != WaveState.PLANNED:
        raise ActionNotPossible(
            f"La vague « {locked} » est {locked.state_label.lower()} : elle ne change plus."
        )


def _check_version(locked: Wave, expected_version: int | None) -> None:
    if expected_version is not None and locked.version != expected_version:
        raise ActionNotPossible(
            "Cette vague vient d'être modifiée par quelqu'un d'autre. Rien n'a été enregistré : "
            "rechargez la page pour voir sa composition actuelle."
        )


def _event(
    locked: Wave, actor: User, name: str, payload: dict, now: datetime.datetime, fields: list[str]
) -> None:
    locked.version += 1
    locked.updated_at = now
    append_wave_event(locked, name=name, actor=actor, payload=payload, at=now)
    locked.save(update_fields=[*fields, "version", "updated_at", "event_count", "audit_head"])


def wave_create(
    *, actor: User, name: str, date: datetime.date | None, place: str, description: str = ""
) -> Wave:
    _require_ministry(actor)
    name, place = (name or "").strip(), (place or "").strip()
    description = (description or "").strip()
    check_plain_text(name=name, place=place, description=description)
    problems = {
        field: [message]
        for field, missing, message in (
            ("name", not name, "Le nom est obligatoire."),
            ("date", date is None, "La date est obligatoire."),
            ("place", not place, "Le lieu est obligatoire."),
        )
        if missing
    }
    if problems:
        raise InvalidInput("La vague n'a pas été créée :", field_errors=problems)
    assert date is not None  # among the problems above, which mypy does not follow
    now = timezone.now()
    with transaction.atomic():
        wave = Wave.objects.create(
            name=name,
            date=date,
            place=place,
            description=description,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        payload = {"name": name, "date": str(date), "place": place}
        _event(wave, actor, "create", payload, now, fields=[])
    return wave


def eligible_contracts() -> QuerySet[TerritoryContract]:
    """Signed-off contracts that no planned or validated wave holds."""
    return TerritoryContract.objects.filter(state="signed_off").exclude(wave_items__active=True)


def wave_add_contract(
    *, wave: Wave, actor: User, contract: TerritoryContract, expected_version: int | None = None
) -> WaveItem:
    _require_ministry(actor)
    with transaction.atomic():
        locked = _lock(wave)
        _check_version(locked, expected_version)
        _require_planned(locked)
        current = TerritoryContract.objects.select_for_update().get(pk=contract.pk)
        if current.state != "signed_off":
            raise ActionNotPossible(
                f"{current.reference} n'est pas validé par le ministère "
                f"(état « {current.state_label} ») : il ne peut pas entrer dans une vague."
            )
        other = current.wave_items.filter(active=True).select_related("wave").first()
        if other is not None:
            raise ActionNotPossible(f"{current.reference} est déjà dans la vague « {other.wave} ».")
        now = timezone.now()
        try:
            with transaction.atomic():
                item = WaveItem.objects.create(
                    wave=locked, contract=current, added_by=actor, added_at=now
                )
        except IntegrityError as error:
            raise ActionNotPossible(
                f"{current.reference} est déjà dans une autre vague."
            ) from error
        _event(locked, actor, "add_contract", {"contract": current.reference}, now, fields=[])
    return item


def wave_remove_contract(
    *, wave: Wave, actor: User, contract: TerritoryContract, expected_version: int | None = None
) -> None:
    _require_ministry(actor)
    with transaction.atomic():
        locked = _lock(wave)
        _check_version(locked, expected_version)
        _require_planned(locked)
        removed, _ = WaveItem.objects.filter(wave=locked, contract=contract, active=True).delete()
        if not removed:
            raise InvalidInput(f"{contract.reference} n'est pas dans cette vague.")
        now = timezone.now()
        _event(locked, actor, "remove_contract", {"contract": contract.reference}, now, fields=[])


def wave_cancel(*, wave: Wave, actor: User, expected_version: int | None = None) -> Wave:
    _require_permitted(wave.cancel, actor)
    with transaction.atomic():
        locked = _lock(wave)
        _check_version(locked, expected_version)
        _require_planned(locked)
        now = timezone.now()
        locked.items.update(active=False)
        locked.cancel(at=now)
        _event(locked, actor, "cancel", {}, now, fields=["state", "cancelled_at"])
    return locked


def contracts_of(wave: Wave) -> QuerySet[TerritoryContract]:
    return (
        TerritoryContract.objects.filter(wave_items__wave=wave, wave_items__active=True)
        .select_related("territory__pilot_region")
        .order_by("pk")
    )


def granted_derogations_of(
    contracts: QuerySet[TerritoryContract] | list[TerritoryContract],
) -> list[DerogationRequest]:
    """Granted derogations linked to these contracts (a list or a queryset), and those of
    their territories that were granted before the territory had a contract to link to."""
    territories = (
        # A queryset stays a subquery: a wave's page does not read its thousands of rows.
        contracts.values("territory_id")
        if isinstance(contracts, QuerySet)
        else {contract.territory_id for contract in contracts}
    )
    return list(
        DerogationRequest.objects.filter(state="decided", outcome=Outcome.GRANTED)
        .filter(Q(contract__in=contracts) | Q(contract__isnull=True, territory__in=territories))
        .select_related("territory")
        .order_by("pk")
    )


def derogations_of(
    wave: Wave, contracts: QuerySet[TerritoryContract] | list[TerritoryContract]
) -> list[DerogationRequest]:
    """A planned wave's derogations are those it would contractualise; a validated one's,
    those it did."""
    if wave.state == WaveState.PLANNED:
        return granted_derogations_of(contracts)
    return list(
        DerogationRequest.objects.filter(contract__in=contracts, state="contractualised")
        .select_related("territory")
        .order_by("pk")
    )


def _problems(wave: Wave, contracts: list[TerritoryContract]) -> list[str]:
    members = set(wave.items.filter(active=True).values_list("contract_id", flat=True))
    problems = []
    for contract in contracts:
        if contract.pk not in members:
            problems.append(
                f"{contract.reference} ({contract.territory}) : n'est plus dans la vague."
            )
        elif contract.state != "signed_off":
            problems.append(
                f"{contract.reference} ({contract.territory}) : à l'état "
                f"« {contract.state_label} », il n'est plus validé par le ministère."
            )
    return problems


def case_contractualise(
    *, case: Case, actor: User, wave: Wave, signing_operators: list[str] | None = None
) -> None:
    """One case of the wave, through the one transition runner (permission, audit event,
    announcement). The caller holds the case's lock and validates the wave
    (``contractualising``): the model refuses the transition anywhere else.
    ``signing_operators``: the operators that sign the contract's version 1, told with its
    territory."""
    payload = {"wave": wave.pk, "wave_name": wave.name}
    run_declared_transition(
        case=case,
        actor=actor,
        name="contractualise",
        prepare=lambda _locked: ([], payload),
        locked_by_caller=True,
        extra={"operators": signing_operators or []},
    )


def wave_validate(*, wave: Wave, actor: User, expected_version: int | None = None) -> Wave:
    _require_permitted(wave.validate, actor)
    stored: list[WaveDocument] = []
    try:
        with transaction.atomic():
            locked = _validate_locked(wave, actor, expected_version, stored)
    except Exception:
        # Also when the commit itself fails: the file on disk goes with the rows.
        for document in stored:
            document.file.delete(save=False)
        raise
    return locked


def _validate_locked(
    wave: Wave, actor: User, expected_version: int | None, stored: list[WaveDocument]
) -> Wave:
    locked = _lock(wave)
    _check_version(locked, expected_version)
    _require_planned(locked)
    ids = list(locked.items.filter(active=True).values_list("contract_id", flat=True))
    if not ids:
        raise InvalidInput("La vague ne compte aucun contrat : ajoutez-en avant de la valider.")
    _lock_deciding_derogations(ids)
    # Locked in one order by every validator, so that two waves never deadlock. Only the case
    # rows (the contract's and its parent Case's): the territories and Regions read with them
    # stay free for the other waves and the reference reloads.
    contracts = list(
        TerritoryContract.objects.select_for_update(of=("self", "case_ptr"))
        .filter(pk__in=ids)
        .select_related("territory__pilot_region")
        .order_by("pk")
    )
    problems = _problems(locked, contracts)
    if problems:
        raise WaveValidationFailed(
            f"La vague « {locked} » n'a pas été validée ; rien n'a changé :", problems=problems
        )
    # Read now that the decisions being written have committed (a new statement sees them,
    # READ COMMITTED); their rows stay locked to this transaction.
    derogations = granted_derogations_of(contracts)
    now = timezone.now()
    # Version 1 of each contract, the text its signatories now sign: its operators are told
    # of its contractualisation with its territory.
    operators = signing.first_versions(contracts, actor, now)
    # One group for the wave: a party to 17 of its contracts is told once, not 17 times (the
    # listeners that follow one case at a time still hear each contractualisation at once).
    with hooks.grouped(), contractualising(locked.pk), actors_read_once():
        for contract in contracts:
            case_contractualise(
                case=contract,
                actor=actor,
                wave=locked,
                signing_operators=operators.get(contract.pk, []),
            )
        by_territory = {contract.territory_id: contract for contract in contracts}
        for derogation in derogations:
            if derogation.contract_id is None:
                derogation.contract = by_territory[derogation.territory_id]
                derogation.save(update_fields=["contract"])
            case_contractualise(case=derogation, actor=actor, wave=locked)
    document = _store_pdf(locked, actor, contracts, derogations, now, stored)
    _finish_validation(locked, actor, contracts, derogations, document, now)
    return locked


def _lock_deciding_derogations(contract_ids: list[int]) -> None:
    """Every derogation of the wave's territories that is granted or may be about to be is
    locked before the contracts: one being decided right now (linked to its contract, its
    letter being written) is waited for, so that it is contractualised with its contract,
    not left « décidée » for good beside a contractualised one. Before the contracts, since
    the decision's link to its contract needs that row not locked for update: wave,
    derogations, then contracts is the one order."""
    territories = TerritoryContract.objects.filter(pk__in=contract_ids).values("territory_id")
    list(
        DerogationRequest.objects.select_for_update(of=("self", "case_ptr"))
        .filter(territory_id__in=territories, state__in=["ministerial_review", "decided"])
        .order_by("pk")
    )


def _finish_validation(
    locked: Wave,
    actor: User,
    contracts: list[TerritoryContract],
    derogations: list[DerogationRequest],
    document: WaveDocument,
    now: datetime.datetime,
) -> None:
    locked.validate(at=now, actor=actor)
    payload = {
        "contracts": [contract.reference for contract in contracts],
        "derogations": [derogation.reference for derogation in derogations],
        "document": {"id": document.pk, "sha256": document.sha256, "size": document.size},
    }
    fields = ["state", "validated_at", "validated_by"]
    _event(locked, actor, "validate", payload, now, fields=fields)


def totals(
    contracts: Iterable[TerritoryContract],
) -> tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal, Decimal]]]:
    """The costs by axis, and by funder the money requested and the money committed."""
    zero = Decimal("0")
    axis_totals = dict.fromkeys(Axis.values, zero)
    for row in (
        TerritoryContract.objects.filter(pk__in=[c.pk for c in contracts])
        .values("actions__axis")
        .annotate(total=Sum("actions__total_cost"))
    ):
        if row["actions__axis"]:
            axis_totals[row["actions__axis"]] = row["total"] or zero
    funders = dict(Funder.choices)
    committed = Q(status=FinancingLine.Status.COMMITTED)
    by_funder = [
        (funders[row["funder"]], row["requested"] or zero, row["committed"] or zero)
        for row in FinancingLine.objects.filter(action__contract__in=[c.pk for c in contracts])
        .values("funder")
        .annotate(requested=Sum("amount"), committed=Sum("committed_amount", filter=committed))
        .order_by("funder")
    ]
    return [(label, axis_totals[value]) for value, label in Axis.choices], by_funder


def _signatories(contract: TerritoryContract) -> str:
    leads = [
        (contract.elected_lead_name, contract.elected_lead_role),
        (contract.industrial_lead_name, contract.industrial_lead_role),
    ]
    named = [", ".join(part for part in lead if part) for lead in leads]
    return "\n".join(text for text in named if text) or "—"


def summary_lines(contracts: Iterable[TerritoryContract]) -> list[WaveLine]:
    annotated = (
        TerritoryContract.objects.filter(pk__in=[c.pk for c in contracts])
        .select_related("territory__pilot_region")
        .annotate(action_total=Sum("actions__total_cost"), action_count=Count("actions"))
        .order_by("pk")
    )
    return [
        WaveLine(
            reference=contract.reference or "",
            title=contract.title,
            territory=contract.territory.name,
            region=contract.territory.pilot_region.name,
            signatories=_signatories(contract),
            actions=contract.action_count,
            total_cost=contract.action_total or Decimal("0"),
        )
        for contract in annotated
    ]


def wave_summary(
    wave: Wave,
    contracts: Iterable[TerritoryContract],
    derogations: Iterable[DerogationRequest],
    *,
    validated_on: datetime.date,
    validated_by: User | None,
) -> WaveSummary:
    """What the wave's PDF says of these contracts and derogations, validated by that user."""
    by_axis, by_funder = totals(contracts)
    return WaveSummary(
        name=wave.name,
        held_on=wave.date,
        place=wave.place,
        validated_on=validated_on,
        validated_by=(validated_by.get_full_name() or validated_by.email) if validated_by else "",
        lines=summary_lines(contracts),
        by_axis=by_axis,
        by_funder=by_funder,
        derogations=[f"{d.reference} — {d.title} ({d.territory})" for d in derogations],
    )


def _store_pdf(
    locked: Wave,
    actor: User,
    contracts: list[TerritoryContract],
    derogations: list[DerogationRequest],
    now: datetime.datetime,
    stored: list[WaveDocument],
) -> WaveDocument:
    """The PDF on disk, then its row; the file is in ``stored`` from the moment it exists, for
    the caller to remove if anything after it fails, the row's own save included."""
    summary = wave_summary(
        locked, contracts, derogations, validated_on=timezone.localdate(now), validated_by=actor
    )
    content = render_wave_pdf(summary)
    document = WaveDocument(
        wave=locked,
        original_name=f"vague-{locked.pk}-{locked.date:%Y-%m-%d}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        created_at=now,
    )
    document.file.save(document.stored_name, ContentFile(content), save=False)
    stored.append(document)
    document.save()
    return document

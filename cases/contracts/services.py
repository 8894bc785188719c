"""The services of territory contracts: creating and editing a contract, its fiches-actions and
their financing lines. Each runs in one transaction through the kernel's helpers
(``cases.kernel.services``).
"""

from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cases.contracts.models import ActionSheet, FinancingLine, TerritoryContract
from cases.kernel import permissions as perms
from cases.kernel.models import Case, CaseEvent
from cases.kernel.services import (
    PROBLEM_FIXES,
    ActionForbidden,
    InvalidInput,
    case_page_url,
    check_version,
    clean_case_fields,
    clean_instance,
    insert_case,
    lock_case,
    record_event,
    require_editable,
    touch_case,
)
from territories.models import Territory

CONTRACT_FIELDS = [
    "title",
    "summary",
    "period_start",
    "period_end",
    "elected_lead_name",
    "elected_lead_role",
    "industrial_lead_name",
    "industrial_lead_role",
]
ACTION_FIELDS = [
    "title",
    "axis",
    "project_owner",
    "description",
    "total_cost",
    "schedule",
    "status",
]

PROBLEM_FIXES["contract"] = [
    ("intitulé", case_page_url("contract-edit"), "Renseigner l'intitulé"),
    ("période", case_page_url("contract-edit"), "Renseigner la période"),
    ("fiche-action", case_page_url("action-create"), "Ajouter une fiche-action"),
]


def contract_create(*, territory: Territory, actor: User, **fields: Any) -> TerritoryContract:
    if not perms.is_epci_agent_for(actor, SimpleNamespace(territory_id=territory.pk)):
        raise ActionForbidden(
            "Seuls les agents d'une intercommunalité du territoire peuvent créer son contrat."
        )
    now = timezone.now()
    with transaction.atomic():
        contract = TerritoryContract(
            kind=Case.Kind.CONTRACT,
            territory=territory,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
            **{name: value for name, value in fields.items() if name in CONTRACT_FIELDS},
        )
        insert_case(contract, actor, CONTRACT_FIELDS, now)
    return contract


def _clean_contract(contract: TerritoryContract) -> None:
    clean_case_fields(contract, CONTRACT_FIELDS)


def contract_update(
    *, case: TerritoryContract, actor: User, expected_version: int, changes: dict
) -> TerritoryContract:
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        require_editable(locked, actor)
        diff = {}
        for name in CONTRACT_FIELDS:
            if name in changes and getattr(locked, name) != changes[name]:
                diff[name] = [getattr(locked, name), changes[name]]
                setattr(locked, name, changes[name])
        if not diff:
            return locked
        _clean_contract(locked)
        now = timezone.now()
        touch_case(locked, actor, now)
        record_event(
            locked,
            actor,
            fields=[*diff, "version", "updated_at", "updated_by"],
            kind=CaseEvent.Kind.EDIT,
            name="update",
            payload={"changes": diff},
            at=now,
        )
    return locked


def _validated_action(
    contract: TerritoryContract, fields: dict, action: ActionSheet | None = None
) -> ActionSheet:
    action = action or ActionSheet(contract=contract)
    for name in ACTION_FIELDS:
        if name in fields:
            setattr(action, name, fields[name])
    clean_instance(action)
    return action


def describe_line(line: FinancingLine) -> dict:
    """A financing line as the audit log keeps it: what was asked, and what its funder
    answered."""
    return {
        "line": line.pk,
        "funder": line.funder,
        "amount": line.amount,
        "status": line.status,
        "committed_amount": line.committed_amount,
        "committed_on": line.committed_on,
        "note": line.note,
    }


def _asked_differently(line: FinancingLine, values: dict) -> bool:
    return (line.funder, line.amount) != (values.get("funder"), values.get("amount"))


def answers_reset(existing: list[FinancingLine], financings: list[dict]) -> list[FinancingLine]:
    """The answered lines that ``financings`` (rows of a fiche-action form) ask of another
    funder or for another amount: saving them sets them back to « Demandé »."""
    by_id = {line.pk: line for line in existing}
    return [
        line
        for values in financings
        if (line := by_id.get(values.get("line") or 0)) is not None
        and line.status != FinancingLine.Status.REQUESTED
        and _asked_differently(line, values)
    ]


def _clear_answer(line: FinancingLine) -> None:
    line.status = FinancingLine.Status.REQUESTED
    line.committed_amount = line.committed_on = line.answered_by = line.answered_at = None
    line.note = ""


def _validated_financings(
    action: ActionSheet, existing: dict[int, FinancingLine], financings: list[dict]
) -> tuple[list[FinancingLine], list[dict]]:
    """The lines the form asks for, each the existing line it names (``line``) or a new one,
    and the answers this resets. The EPCI only requests: a line keeps the answer its funder
    gave as long as it asks the same funder for the same amount."""
    lines, resets, seen = [], [], set()
    for values in financings:
        if values.get("status", FinancingLine.Status.REQUESTED) != FinancingLine.Status.REQUESTED:
            raise ActionForbidden(
                "Seul le financeur engage ou décline son financement : "
                "la fiche-action ne fait que le demander."
            )
        line_id = values.get("line")
        if line_id:
            line = existing.get(line_id)
            if line is None or line_id in seen:
                raise InvalidInput(
                    "Une ligne de financement n'appartient pas à cette fiche-action : "
                    "rechargez la page."
                )
            seen.add(line_id)
            if _asked_differently(line, values) and line.status != FinancingLine.Status.REQUESTED:
                resets.append(describe_line(line))
                _clear_answer(line)
            line.funder, line.amount = values["funder"], values["amount"]
        else:
            line = FinancingLine(action=action, funder=values["funder"], amount=values["amount"])
        try:
            line.full_clean(exclude=["action"])
        except ValidationError as error:
            problems = [m for messages in error.message_dict.values() for m in messages]
            raise InvalidInput(
                "Une ligne de financement est invalide :", problems=problems
            ) from error
        lines.append(line)
    return lines, resets


def _describe_action(action: ActionSheet, lines: list[FinancingLine]) -> dict:
    return {
        "action": action.pk,
        "fields": {name: getattr(action, name) for name in ACTION_FIELDS},
        "financings": [describe_line(line) for line in lines],
    }


def action_save(
    *,
    case: TerritoryContract,
    actor: User,
    expected_version: int,
    fields: dict,
    financings: list[dict],
    action_id: int | None = None,
) -> ActionSheet:
    """Create a fiche-action, or replace its fields and financing lines.

    ``financings`` are rows ``{"line": id or None, "funder": ..., "amount": ...}``. A row
    naming an existing line of the fiche-action updates it, and keeps its funder's answer
    unless it changes the funder or the amount (then the answer is reset to « Demandé »,
    and the audit event says so under ``answers_reset``); a row without ``line`` adds a
    line; the lines no row names are removed (listed under ``financings_removed``). No row
    sets a status: ``"status"``, if given, may only be ``"requested"``."""
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        require_editable(locked, actor)
        existing = None
        if action_id is not None:
            existing = locked.actions.filter(pk=action_id).first()
            if existing is None:
                raise InvalidInput("Cette fiche-action n'existe pas dans ce contrat.")
        action = _validated_action(locked, fields, existing)
        current = {line.pk: line for line in existing.financings.all()} if existing else {}
        lines, resets = _validated_financings(action, current, financings)
        action.save()
        kept = {line.pk for line in lines if line.pk is not None}
        removed = [describe_line(line) for pk, line in current.items() if pk not in kept]
        FinancingLine.objects.filter(action=action).exclude(pk__in=kept).delete()
        for line in lines:
            line.action = action
            if line.pk is not None:
                line.save()
        FinancingLine.objects.bulk_create([line for line in lines if line.pk is None])
        now = timezone.now()
        touch_case(locked, actor, now)
        payload = _describe_action(action, lines)
        if resets:
            payload["answers_reset"] = resets
        if removed:
            payload["financings_removed"] = removed
        record_event(
            locked,
            actor,
            fields=["version", "updated_at", "updated_by"],
            kind=CaseEvent.Kind.EDIT,
            name="action_update" if existing else "action_create",
            payload=payload,
            at=now,
        )
    return action


def action_delete(
    *, case: TerritoryContract, actor: User, expected_version: int, action_id: int
) -> None:
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        require_editable(locked, actor)
        action = locked.actions.filter(pk=action_id).first()
        if action is None:
            raise InvalidInput("Cette fiche-action n'existe pas dans ce contrat.")
        description = _describe_action(action, list(action.financings.all()))
        action.delete()
        now = timezone.now()
        touch_case(locked, actor, now)
        record_event(
            locked,
            actor,
            fields=["version", "updated_at", "updated_by"],
            kind=CaseEvent.Kind.EDIT,
            name="action_delete",
            payload=description,
            at=now,
        )

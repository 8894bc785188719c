"""A contract's content as a version keeps it, and what an avenant changes of it.

A version's content is plain data (JSON): the contract's fields, its fiches-actions and their
financing lines, amounts as strings of cents ("40000.00") so that what is stored is what is
compared. Version 1 is what the wave contractualised; an avenant's proposal is a content of
the same shape, and its diff against the current version says what it changes and whose
commitments it touches.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from cases.contracts.models import (
    FUNDER_LABELS,
    ActionSheet,
    Axis,
    FinancingLine,
    TerritoryContract,
)

# The fields a version keeps are those the EPCI writes: the services' own lists.
from cases.contracts.services import ACTION_FIELDS, CONTRACT_FIELDS

ACTION_FIELD_LABELS = {
    "title": "Intitulé",
    "axis": "Axe",
    "project_owner": "Porteur de projet",
    "description": "Description",
    "total_cost": "Coût total",
    "schedule": "Calendrier",
    "status": "Statut",
}
CONTRACT_FIELD_LABELS = {
    field.name: field.verbose_name
    for field in TerritoryContract._meta.concrete_fields
    if field.name in CONTRACT_FIELDS
}
AXIS_LABELS = dict(Axis.choices)
STATUS_LABELS = dict(ActionSheet.Status.choices)
ZERO = Decimal("0")


def plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # dates, as ISO text


def line_content(line: FinancingLine) -> dict:
    return {
        "line": line.pk,
        "funder": line.funder,
        "amount": plain(line.amount),
        "status": line.status,
        "committed_amount": plain(line.committed_amount),
    }


def action_content(action: ActionSheet, lines: Iterable[FinancingLine]) -> dict:
    return {
        "id": action.pk,
        **{name: plain(getattr(action, name)) for name in ACTION_FIELDS},
        "financings": [line_content(line) for line in lines],
    }


def contract_content(contract: TerritoryContract, actions: Iterable[ActionSheet]) -> dict:
    """The content of ``contract`` with ``actions`` (their ``financings`` prefetched)."""
    return {
        "fields": {name: plain(getattr(contract, name)) for name in CONTRACT_FIELDS},
        "actions": [action_content(action, action.financings.all()) for action in actions],
    }


def amount(value: object) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def funder_totals(content: dict) -> dict[str, tuple[Decimal, Decimal]]:
    """By funder: the money requested and the money committed."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for action in content["actions"]:
        for line in action["financings"]:
            requested, committed = totals.get(line["funder"], (ZERO, ZERO))
            totals[line["funder"]] = (
                requested + amount(line["amount"]),
                committed + amount(line["committed_amount"]),
            )
    return totals


def content_totals(content: dict) -> tuple[Decimal, Decimal, Decimal]:
    """The cost of the fiches-actions, the money requested and the money committed."""
    cost = sum((amount(action["total_cost"]) for action in content["actions"]), ZERO)
    by_funder = funder_totals(content).values()
    return (
        cost,
        sum((requested for requested, _ in by_funder), ZERO),
        sum((committed for _, committed in by_funder), ZERO),
    )


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class LineChange:
    funder: str
    before: Decimal | None
    after: Decimal | None

    @property
    def label(self) -> str:
        return FUNDER_LABELS.get(self.funder, self.funder)

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"


@dataclass
class ActionChange:
    kind: str  # added, changed, removed
    title: str
    axis: str
    fields: list[FieldChange] = field(default_factory=list)
    lines: list[LineChange] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return {"added": "Ajoutée", "changed": "Modifiée", "removed": "Supprimée"}[self.kind]


@dataclass
class FunderChange:
    funder: str
    before: Decimal
    after: Decimal

    @property
    def label(self) -> str:
        return FUNDER_LABELS.get(self.funder, self.funder)

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


@dataclass
class ContentDiff:
    actions: list[ActionChange]
    funders: list[FunderChange]
    fields: list[FieldChange]

    @property
    def is_empty(self) -> bool:
        return not (self.actions or self.fields)

    @property
    def affected_funders(self) -> set[str]:
        """The funders with a line added, removed or asked another amount: their
        commitments change, so they sign the avenant."""
        return {line.funder for change in self.actions for line in change.lines}


def _shown(name: str, value: object) -> str:
    if value in (None, ""):
        return "—"
    if name == "axis":
        return str(AXIS_LABELS.get(str(value), value))
    if name == "status":
        return str(STATUS_LABELS.get(str(value), value))
    return str(value)


def _line_changes(before: list[dict], after: list[dict]) -> list[LineChange]:
    """Line by line (a line keeps its id across versions; a new one has none)."""
    old = {line["line"]: line for line in before if line.get("line")}
    changes = []
    kept = set()
    for line in after:
        previous = old.get(line.get("line")) if line.get("line") else None
        if previous is None:
            changes.append(LineChange(line["funder"], None, amount(line["amount"])))
            continue
        kept.add(previous["line"])
        if previous["funder"] != line["funder"]:
            changes.append(LineChange(previous["funder"], amount(previous["amount"]), None))
            changes.append(LineChange(line["funder"], None, amount(line["amount"])))
        elif amount(previous["amount"]) != amount(line["amount"]):
            changes.append(
                LineChange(line["funder"], amount(previous["amount"]), amount(line["amount"]))
            )
    changes.extend(
        LineChange(line["funder"], amount(line["amount"]), None)
        for pk, line in old.items()
        if pk not in kept
    )
    return changes


def _field_changes(before: dict, after: dict, names: list[str], labels: dict) -> list:
    return [
        FieldChange(
            labels.get(name, name), _shown(name, before.get(name)), _shown(name, after[name])
        )
        for name in names
        if name in after and before.get(name) != after[name]
    ]


def content_diff(before: dict, after: dict) -> ContentDiff:
    """What ``after`` changes of ``before``: fiches-actions added, changed and removed, with
    their lines, and by funder the money requested before and after."""
    old = {action["id"]: action for action in before["actions"] if action.get("id")}
    changes = []
    for action in after["actions"]:
        previous = old.pop(action["id"], None) if action.get("id") else None
        if previous is None:
            lines = _line_changes([], action["financings"])
            changes.append(ActionChange("added", action["title"], action["axis"], [], lines))
            continue
        fields = _field_changes(previous, action, ACTION_FIELDS, ACTION_FIELD_LABELS)
        lines = _line_changes(previous["financings"], action["financings"])
        if fields or lines:
            changes.append(ActionChange("changed", action["title"], action["axis"], fields, lines))
    for action in old.values():
        lines = _line_changes(action["financings"], [])
        changes.append(ActionChange("removed", action["title"], action["axis"], [], lines))
    requested_before = funder_totals(before)
    requested_after = funder_totals(after)
    funders = [
        FunderChange(funder, requested_before.get(funder, (ZERO,))[0], after_total)
        for funder, after_total in (
            (funder, requested_after.get(funder, (ZERO,))[0])
            for funder in sorted(set(requested_before) | set(requested_after))
        )
        if requested_before.get(funder, (ZERO,))[0] != after_total
    ]
    labels = {name: str(CONTRACT_FIELD_LABELS.get(name, name)) for name in CONTRACT_FIELDS}
    fields = _field_changes(
        before.get("fields", {}), after.get("fields", {}), CONTRACT_FIELDS, labels
    )
    return ContentDiff(actions=changes, funders=funders, fields=fields)

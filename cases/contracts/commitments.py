"""What a funder answers to a financing line of a fiche-action: it commits (an amount, on a
date), adjusts its commitment (commits again), or declines.

The EPCI requests (``cases.contracts.services.action_save``); each funder answers its own
lines only, as ``cases.kernel.permissions.can_answer_financing`` says: an operator's lines by
that operator's agents alone. The services share the machinery of ``cases.kernel.services``:
one transaction, the case's lock, the version the user saw, the explicit permission, the
audit event, the announcement (which writes the notifications to the territory's EPCI and
Region).
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.actors import AnyUser
from accounts.models import User
from cases.contracts.models import FUNDER_LABELS, FinancingLine, TerritoryContract
from cases.contracts.services import describe_line
from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.models import Case, CaseEvent
from cases.kernel.services import (
    ActionForbidden,
    ActionNotPossible,
    InvalidInput,
    check_plain_text,
    check_version,
    lock_case,
    record_event,
    touch_case,
)

NOTE_MAX_LENGTH = 5_000
# The model's DecimalField(max_digits=14, decimal_places=2).
MAX_AMOUNT = Decimal("999999999999.99")


def who_answers(funder: str) -> str:
    """Who answers a line of ``funder``, to say so to someone who may not."""
    if funder in perms.OPERATOR_CODES:
        return f"les agents de {FUNDER_LABELS[funder]}"
    return {
        "region": "la Région pilote du territoire",
        "state": "le ministère",
        "epci": "les intercommunalités du territoire",
    }.get(funder, "")


def _checked_amount(amount: object) -> Decimal:
    if amount is None or amount == "":
        raise InvalidInput("Indiquez le montant engagé.", field="amount")
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        raise InvalidInput(
            "Saisissez un montant en euros, par exemple 12\u00a0000,50.", field="amount"
        )
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(
            "Saisissez un montant en euros, par exemple 12\u00a0000,50.", field="amount"
        )
    if value < 0:
        raise InvalidInput("Le montant ne peut pas être négatif.", field="amount")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(
            "Le montant compte au plus deux décimales (les centimes).", field="amount"
        )
    if value > MAX_AMOUNT:
        raise InvalidInput("Ce montant dépasse ce qu'un financement peut porter.", field="amount")
    return value.quantize(Decimal("0.01"))


def _checked_note(note: str) -> str:
    note = (note or "").strip()
    check_plain_text(note=note)
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(
            f"La note dépasse {french.group_digits(NOTE_MAX_LENGTH)} caractères.", field="note"
        )
    return note


def answer_refusal(
    user: AnyUser, case: Case, line: FinancingLine
) -> ActionForbidden | ActionNotPossible | None:
    """Why ``user`` may not answer ``line`` on ``case`` now, or None if they may."""
    if not perms.is_financing_answerer(user, case, line.funder):
        who = who_answers(line.funder)
        if not who:
            return ActionForbidden(
                "Ce financement (« Autre ») ne s'engage pas dans le service : "
                "son financeur n'y a pas de compte."
            )
        return ActionForbidden(f"Seuls {who} engagent ou déclinent ce financement.")
    if not perms.financing_answers_open(case):
        if case.state == "draft":
            return ActionNotPossible(
                "Le contrat est en rédaction par l'intercommunalité : ses financements "
                "se répondent une fois le contrat déposé."
            )
        if case.state == "contractualised":
            return ActionNotPossible(
                "Le contrat est contractualisé : ses financements changent désormais par "
                "un avenant, que signe le financeur."
            )
        return ActionNotPossible(
            f"Le contrat est à l'état « {case.state_label} » : "
            "ses financements ne se répondent plus."
        )
    return None


def _locked_line(
    line: FinancingLine, actor: User, expected_version: int | None
) -> tuple[TerritoryContract, FinancingLine]:
    """The case locked, the version checked, the line read again under the lock, and the
    actor's right to answer it checked."""
    contract = TerritoryContract(pk=line.action.contract_id)
    locked = lock_case(contract)
    check_version(locked, expected_version)
    current = (
        FinancingLine.objects.select_related("action")
        .filter(pk=line.pk, action__contract_id=locked.pk)
        .first()
    )
    if current is None:
        raise ActionNotPossible(
            "Cette ligne de financement n'existe plus : la fiche-action a été modifiée."
        )
    refusal = answer_refusal(actor, locked, current)
    if refusal is not None:
        raise refusal
    return locked, current


def _answer(
    locked: TerritoryContract,
    current: FinancingLine,
    actor: User,
    *,
    name: str,
    action: str,
    previous: dict,
    note: str,
) -> FinancingLine:
    now = timezone.now()
    current.answered_by, current.answered_at = actor, now
    current.save(
        update_fields=[
            "status",
            "committed_amount",
            "committed_on",
            "note",
            "answered_by",
            "answered_at",
        ]
    )
    touch_case(locked, actor, now)
    label = FUNDER_LABELS.get(current.funder, current.funder)
    detail = (
        f"{label}, {french.euros(current.committed_amount)}"
        if current.status == FinancingLine.Status.COMMITTED
        else label
    )
    record_event(
        locked,
        actor,
        fields=["version", "updated_at", "updated_by"],
        extra={"detail": detail},
        kind=CaseEvent.Kind.EDIT,
        name=name,
        comment=note,
        payload={
            "action": action,
            "line": current.pk,
            "fiche": current.action_id,
            "fiche_title": current.action.title,
            "funder": current.funder,
            "requested": current.amount,
            "committed": current.committed_amount,
            "committed_on": current.committed_on,
            "note": note,
            "previous": previous,
        },
        at=now,
    )
    return current


def financing_commit(
    *,
    line: FinancingLine,
    actor: User,
    amount: Decimal | int | str,
    committed_on: date | None,
    note: str = "",
    expected_version: int | None,
) -> FinancingLine:
    """The funder commits ``amount`` on ``committed_on``; committing again adjusts (the
    audit says ``adjust``), committing a declined line reverses the refusal. The same
    answer given twice changes nothing."""
    value = _checked_amount(amount)
    if committed_on is None:
        raise InvalidInput("Indiquez la date de l'engagement.", field="committed_on")
    if not isinstance(committed_on, date):
        raise InvalidInput("Saisissez une date valide.", field="committed_on")
    if committed_on > timezone.localdate():
        # A commitment to come is not one yet: the line stays « Demandé » until it is.
        raise InvalidInput(
            "La date de l'engagement ne peut pas être dans le futur.", field="committed_on"
        )
    note = _checked_note(note)
    with transaction.atomic():
        locked, current = _locked_line(line, actor, expected_version)
        previous = describe_line(current)
        committed = FinancingLine.Status.COMMITTED
        if (current.status, current.committed_amount, current.committed_on, current.note) == (
            committed,
            value,
            committed_on,
            note,
        ):
            return current
        action = "adjust" if current.status == committed else "commit"
        current.status, current.committed_amount = committed, value
        current.committed_on, current.note = committed_on, note
        return _answer(
            locked,
            current,
            actor,
            name="financing_commit",
            action=action,
            previous=previous,
            note=note,
        )


def financing_decline(
    *, line: FinancingLine, actor: User, note: str = "", expected_version: int | None
) -> FinancingLine:
    """The funder declines the line (a commitment it gave is withdrawn with it)."""
    note = _checked_note(note)
    with transaction.atomic():
        locked, current = _locked_line(line, actor, expected_version)
        if current.status == FinancingLine.Status.DECLINED and current.note == note:
            return current
        previous = describe_line(current)
        current.status = FinancingLine.Status.DECLINED
        current.committed_amount = current.committed_on = None
        current.note = note
        return _answer(
            locked,
            current,
            actor,
            name="financing_decline",
            action="decline",
            previous=previous,
            note=note,
        )

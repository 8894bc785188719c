"""A rule edited in the admin applies at once: the worker recomputes the clocks of its kind.

Every case of the kind is recomputed (not only those the edited rule governs), since adding
or removing a call's own rule moves cases between rules. Each case in its own transaction,
locked as a transition locks it, so that a transition in progress is waited for, not undone.
"""

from functools import partial

from django.db import transaction
from django.tasks import task

from cases.models import Case, ContractAmendment, DerogationRequest, TerritoryContract
from deadlines.clocks import refresh
from deadlines.models import Clock
from deadlines.reminders import BATCH, sent_steps

CONCRETE: dict[str, type[Case]] = {
    Case.Kind.CONTRACT: TerritoryContract,
    Case.Kind.DEROGATION: DerogationRequest,
    Case.Kind.AMENDMENT: ContractAmendment,
}


def recompute(case_id: int, kind: str) -> None:
    """The case's clock under today's rules, its reminders already sent kept as sent (a rule
    change does not start a new stage entry, so nothing is sent twice)."""
    case = CONCRETE[kind].objects.select_for_update().filter(pk=case_id).first()
    clock = Clock.objects.filter(case_id=case_id).first()
    if case is None or clock is None:
        return
    sent = sent_steps(case_id, clock.stage, clock.stage_entry) if clock.stage_entry else set()
    refresh(case, sent)


def recompute_kind(kind: str, batch: int = BATCH) -> int:
    """Every clock of ``kind``, by case id; the number recomputed."""
    done, last = 0, 0
    while True:
        ids = list(
            Clock.objects.filter(case__kind=kind, case_id__gt=last)
            .order_by("case_id")
            .values_list("case_id", flat=True)[:batch]
        )
        for case_id in ids:
            with transaction.atomic():
                recompute(case_id, kind)
        done += len(ids)
        if len(ids) < batch:
            return done
        last = ids[-1]


@task()
def recompute_clocks(kind: str) -> str:
    return f"{recompute_kind(kind)} délai(s) recalculé(s)"


def after_rule_change(*kinds: str) -> None:
    """Queue the recomputation once the rule's change is committed."""
    for kind in sorted(set(kinds)):
        transaction.on_commit(partial(recompute_clocks.enqueue, kind))

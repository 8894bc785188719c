from django import template
from django.db.models import OuterRef, Subquery

from cases.models import Case
from deadlines.models import Acknowledgement
from deadlines.presentation import clock_view

register = template.Library()


@register.inclusion_tag("deadlines/clock.html")
def case_clock(case) -> dict:
    """The case's deadlines for its page (nothing for a case without a clock)."""
    # One query for the clock and the latest acknowledgement, which may exist without a clock
    # (a case decided or withdrawn since): read from the case's row, which has one of each or
    # none.
    latest = Acknowledgement.objects.filter(case_id=OuterRef("pk")).order_by("-received_at", "-pk")
    row = (
        Case.objects.filter(pk=case.pk)
        .select_related("clock__rule")
        .annotate(
            receipt_id=Subquery(latest.values("pk")[:1]),
            receipt_at=Subquery(latest.values("received_at")[:1]),
        )
        .first()
    )
    clock = getattr(row, "clock", None)
    acknowledgement = None
    if row is not None and row.receipt_id is not None:
        acknowledgement = Acknowledgement(pk=row.receipt_id, received_at=row.receipt_at)
    return {"clock": clock_view(clock) if clock else None, "acknowledgement": acknowledgement}

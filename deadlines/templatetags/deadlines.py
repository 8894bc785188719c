from django import template

from deadlines.models import Acknowledgement, Clock
from deadlines.presentation import clock_view

register = template.Library()


@register.inclusion_tag("deadlines/clock.html")
def case_clock(case) -> dict:
    """The case's deadlines for its page (nothing for a case without a clock)."""
    clock = Clock.objects.select_related("rule").filter(case_id=case.pk).first()
    latest = Acknowledgement.objects.filter(case_id=case.pk).only("pk", "received_at").first()
    return {"clock": clock_view(clock) if clock else None, "acknowledgement": latest}

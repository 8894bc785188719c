"""``{% load home %}``: links of the home page's rows."""

from django import template
from django.urls import reverse

from cases.models import CASE_PAGES

register = template.Library()


@register.filter
def case_url(case) -> str:
    """The page of a case of either kind, from its ``kind`` and ``reference`` (the home's rows
    are not always Case instances, which would say ``get_absolute_url``)."""
    return reverse(CASE_PAGES[case.kind], args=[case.reference])

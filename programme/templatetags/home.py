"""``{% load home %}``: links of the home page's rows."""

from django import template
from django.urls import reverse

register = template.Library()
CASE_PAGES = {"contract": "contract-detail", "derogation": "derogation-detail"}


@register.filter
def case_url(case) -> str:
    """The page of a case of either kind, from its ``kind`` and ``reference``."""
    return reverse(CASE_PAGES[case.kind], args=[case.reference])

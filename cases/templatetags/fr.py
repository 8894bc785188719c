"""``{% load fr %}``: French typography filters (see cases.kernel.french)."""

from django import template
from django.utils.safestring import SafeData, mark_safe

from cases.kernel import french

register = template.Library()


@register.filter
def euros(amount) -> str:
    return french.euros(amount)


@register.filter
def euros_ronds(amount) -> str:
    return french.euros(amount, cents=False)


@register.filter
def date_fr(value) -> str:
    return french.date_fr(value)


@register.filter
def datetime_fr(value) -> str:
    return french.datetime_fr(value)


@register.filter
def time_fr(value) -> str:
    return french.time_fr(value)


@register.filter
def compte(number, words: str) -> str:
    """``{{ n|compte:"contrat" }}``, ``{{ n|compte:"fiche-action,fiches-actions,f" }}``."""
    parts = [part.strip() for part in words.split(",")]
    feminine = parts[-1] == "f"
    if feminine:
        parts = parts[:-1]
    return french.count_fr(
        number, parts[0], parts[1] if len(parts) > 1 else None, feminine=feminine
    )


@register.filter(needs_autoescape=True)
def typo(text, autoescape=True) -> str:
    """Spaces before « : ; ? ! » become no-break; the text is escaped unless already safe."""
    from django.utils.html import conditional_escape

    safe = isinstance(text, SafeData)
    value = str(text) if safe or not autoescape else str(conditional_escape(text))
    return mark_safe(french.typo(value))  # noqa: S308 - escaped above, only spaces change


@register.filter
def debut_appel(opens_at) -> str:
    return french.call_start(opens_at)


@register.filter
def fin_appel(closes_at) -> str:
    return french.call_end(closes_at)

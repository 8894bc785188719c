"""French typography for what users read: amounts, dates, times, counts, punctuation.

One implementation for the templates (``{% load fr %}``), the Python-made messages and the
documents (PDF, exports), so that « 1 300 000,00 € » is written the same way everywhere.
"""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone

NBSP = "\u00a0"  # before « : », « € », « h », after « and before »
NNBSP = "\u202f"  # thousands separator and before « ; ? ! »
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def group_digits(whole: int) -> str:
    return f"{whole:,}".replace(",", NNBSP)


def euros(amount, *, cents: bool = True) -> str:
    """« 1 300 000,00 € »: the line never breaks inside the amount or before the €."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if not cents:
        return f"{sign}{group_digits(int(value.quantize(Decimal('1'))))}{NBSP}€"
    whole, _, decimals = f"{value:.2f}".partition(".")
    return f"{sign}{group_digits(int(whole))},{decimals}{NBSP}€"


def _local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def date_fr(value) -> str:
    """« 1er mai 2019 »: French writes the first day of a month as an ordinal."""
    if not isinstance(value, date):
        return ""
    day = _local(value)
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number}{NBSP}{MONTHS[day.month - 1]} {day.year}"


def time_fr(value) -> str:
    """« 20 h 43 », « 9 h 05 »."""
    if isinstance(value, datetime):
        value = _local(value)
    elif not isinstance(value, time):
        return ""
    return f"{value.hour}{NBSP}h{NBSP}{value.minute:02d}"


def datetime_fr(value) -> str:
    """« 1er mai 2019 à 20 h 43 »."""
    if not isinstance(value, datetime):
        return date_fr(value)
    return f"{date_fr(value)} à {time_fr(value)}"


def count_fr(number, singular: str, plural: str | None = None, *, feminine=False) -> str:
    """« Aucun contrat », « 1 contrat », « 2 contrats »."""
    number = int(number or 0)
    if number == 0:
        return f"{'Aucune' if feminine else 'Aucun'} {singular}"
    if number == 1:
        return f"1{NBSP}{singular}"
    return f"{group_digits(number)}{NBSP}{plural or singular + 's'}"


_BEFORE_COLON = re.compile(r"[ \u00a0\u202f]+:(?=\s|$)")
_BEFORE_HIGH = re.compile(r"[ \u00a0\u202f]+([;?!])")
_AFTER_OPENING = re.compile(r"«[ \u00a0\u202f]+")
_BEFORE_CLOSING = re.compile(r"[ \u00a0\u202f]+»")


def typo(text: str) -> str:
    """No-break spaces where French puts a space before « : ; ? ! » and inside « ».

    Only existing spaces are replaced: « 10:30 » or an address stay as they are."""
    text = _BEFORE_COLON.sub(f"{NBSP}:", text)
    text = _BEFORE_HIGH.sub(lambda m: f"{NNBSP}{m.group(1)}", text)
    text = _AFTER_OPENING.sub(f"«{NBSP}", text)
    return _BEFORE_CLOSING.sub(f"{NBSP}»", text)


def _is_midnight(moment: datetime) -> bool:
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def call_start(opens_at: datetime) -> str:
    """« 20 décembre 2018 »: a call opening at midnight opens with its day."""
    local = _local(opens_at)
    return date_fr(local) if _is_midnight(local) else datetime_fr(local)


def call_end(closes_at: datetime) -> str:
    """« 30 avril 2019 inclus » for a call closing at midnight: its last day is the day before,
    which is what the call's text says (« ouvert jusqu'au 30 avril 2019 »)."""
    local = _local(closes_at)
    if _is_midnight(local):
        return f"{date_fr(local.date() - timedelta(days=1))} inclus"
    return datetime_fr(local)

"""French calendars: public holidays per territory, working days, and periods in months.

Public holidays come from the maintained ``holidays`` package (country FR). Beside the
national ones, a territory keeps its own: Alsace-Moselle (Good Friday and 26 December, in
Moselle, Bas-Rhin and Haut-Rhin) and, overseas, the day of the abolition of slavery (27 April
in Mayotte, 22 May in Martinique, 27 May in Guadeloupe, 10 June in Guyane, 20 December in La
Réunion). A territory over several départements with different calendars keeps the holidays
of each: a day off in one of its départements is not a working day for its case.

The subdivision codes are checked against the package when the application starts: the
package falls back to the national calendar, silently, on a code it has deprecated.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ImproperlyConfigured

# Départements (INSEE codes) with a calendar of their own -> the package's subdivision.
SUBDIVISION_BY_DEPARTEMENT = {
    "57": "57",  # Moselle
    "67": "6AE",  # Bas-Rhin (Alsace)
    "68": "6AE",  # Haut-Rhin (Alsace)
    "971": "971",  # Guadeloupe
    "972": "972",  # Martinique
    "973": "973",  # Guyane
    "974": "974",  # La Réunion
    "976": "976",  # Mayotte
}
SATURDAY = 5


def check_subdivisions(known: Iterable[str] | None = None) -> None:
    """Refuse a subdivision the package does not (or no longer) support."""
    supported = set(holidays.France.subdivisions if known is None else known)
    unknown = sorted(set(SUBDIVISION_BY_DEPARTEMENT.values()) - supported)
    if unknown:
        raise ImproperlyConfigured(
            "Calendriers des jours fériés : subdivision(s) inconnue(s) du paquet holidays "
            f"{holidays.__version__} : {', '.join(unknown)}. Le paquet retomberait sans le "
            "dire sur le calendrier national ; corrigez deadlines.calendar."
        )


def subdivisions_for(departements: Iterable[str]) -> tuple[str, ...]:
    """The local calendars of a territory from its départements (none: national only)."""
    return tuple(
        sorted(
            {SUBDIVISION_BY_DEPARTEMENT[d] for d in departements if d in SUBDIVISION_BY_DEPARTEMENT}
        )
    )


@lru_cache(maxsize=64)
def _holidays(subdivisions: tuple[str, ...], year: int) -> frozenset[date]:
    calendars = [holidays.France(years=year)] + [
        holidays.France(years=year, subdiv=code) for code in subdivisions
    ]
    return frozenset(day for calendar in calendars for day in calendar)


class FrenchCalendar:
    """The working days of one territory (its local calendars, by subdivision code)."""

    def __init__(self, subdivisions: Iterable[str] = ()):
        self.subdivisions = tuple(sorted(set(subdivisions)))

    @classmethod
    def for_departements(cls, departements: Iterable[str]) -> "FrenchCalendar":
        return cls(subdivisions_for(departements))

    @classmethod
    def for_territory(cls, territory) -> "FrenchCalendar":
        return cls.for_departements(territory.departement_codes)

    def is_holiday(self, day: date) -> bool:
        return day in _holidays(self.subdivisions, day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and not self.is_holiday(day)

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first one after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to ``end`` included (negative if ``end`` is before)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )


def add_months(start: date, months: int) -> date:
    """From day to day: 15 March + 2 months = 15 May; a day the month lacks gives its last
    day (31 December + 2 months = 28 February, or 29 in a leap year)."""
    return start + relativedelta(months=months)


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)

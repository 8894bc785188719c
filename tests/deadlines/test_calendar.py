"""The French calendars, day by day: weekends, national holidays, Alsace-Moselle, overseas."""

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured

from deadlines.calendar import (
    FrenchCalendar,
    add_months,
    check_subdivisions,
    subdivisions_for,
)

NATIONAL = FrenchCalendar()
MOSELLE = FrenchCalendar.for_departements(["57"])
BAS_RHIN = FrenchCalendar.for_departements(["67"])
MAYOTTE = FrenchCalendar.for_departements(["976"])
REUNION = FrenchCalendar.for_departements(["974"])


@pytest.mark.parametrize(
    ("calendar", "day", "working"),
    [
        (NATIONAL, date(2026, 5, 1), False),  # Fête du Travail, a Friday
        (NATIONAL, date(2026, 5, 8), False),  # Victoire 1945, a Friday
        (NATIONAL, date(2026, 7, 14), False),  # Fête nationale, a Tuesday
        (NATIONAL, date(2026, 5, 14), False),  # Ascension
        (NATIONAL, date(2026, 5, 25), False),  # Lundi de Pentecôte
        (NATIONAL, date(2026, 5, 4), True),  # a plain Monday
        (NATIONAL, date(2026, 5, 2), False),  # a Saturday
        (NATIONAL, date(2026, 5, 3), False),  # a Sunday
        (NATIONAL, date(2026, 4, 3), True),  # Good Friday: worked outside Alsace-Moselle
        (NATIONAL, date(2026, 12, 26), False),  # a Saturday anyway
        (NATIONAL, date(2025, 12, 26), True),  # a Friday, worked nationally
        (MOSELLE, date(2026, 4, 3), False),  # Vendredi saint in Moselle
        (MOSELLE, date(2025, 12, 26), False),  # Saint-Étienne in Moselle
        (BAS_RHIN, date(2026, 4, 3), False),
        (BAS_RHIN, date(2025, 12, 26), False),
        (MAYOTTE, date(2026, 4, 27), False),  # abolition of slavery in Mayotte, a Monday
        (NATIONAL, date(2026, 4, 27), True),
        (REUNION, date(2027, 12, 20), False),  # in La Réunion, a Monday
        (MAYOTTE, date(2026, 4, 3), True),  # no Good Friday in Mayotte
    ],
)
def test_working_days(calendar, day, working):
    assert calendar.is_working_day(day) is working


def test_a_territory_over_two_calendars_keeps_the_holidays_of_both():
    # Meurthe-et-Moselle, Meuse and Moselle: Good Friday is off in its Moselle part.
    lorraine = FrenchCalendar.for_departements(["54", "55", "57"])
    assert not lorraine.is_working_day(date(2026, 4, 3))
    assert FrenchCalendar.for_departements(["54", "55"]).is_working_day(date(2026, 4, 3))
    assert subdivisions_for(["57", "67", "68"]) == ("57", "6AE")
    assert subdivisions_for(["75", "92"]) == ()


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 15), 2, date(2026, 5, 15)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 10, 31), 4, date(2027, 2, 28)),
    ],
)
def test_months_count_from_day_to_day(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        (NATIONAL, date(2026, 5, 1), date(2026, 5, 4)),  # Friday 1 May -> Monday
        (NATIONAL, date(2026, 5, 8), date(2026, 5, 11)),
        (NATIONAL, date(2026, 5, 4), date(2026, 5, 4)),
        (MOSELLE, date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday, Easter Monday
        (NATIONAL, date(2026, 4, 3), date(2026, 4, 3)),
        (NATIONAL, date(2026, 12, 25), date(2026, 12, 28)),
    ],
)
def test_a_period_ending_on_a_day_off_moves_to_the_next_working_day(calendar, day, expected):
    assert calendar.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("calendar", "start", "count", "expected"),
    [
        # Thursday 30 April 2026 + 1 working day: 1 May off, weekend: Monday 4 May.
        (NATIONAL, date(2026, 4, 30), 1, date(2026, 5, 4)),
        (NATIONAL, date(2026, 4, 30), 5, date(2026, 5, 11)),  # 8 May off too
        # Across the change to summer time (29 March 2026): dates, not hours.
        (NATIONAL, date(2026, 3, 27), 1, date(2026, 3, 30)),
        (NATIONAL, date(2026, 10, 23), 2, date(2026, 10, 27)),  # winter time on 25 October
        (MOSELLE, date(2026, 4, 2), 1, date(2026, 4, 7)),
        (NATIONAL, date(2026, 4, 2), 1, date(2026, 4, 3)),
        (MAYOTTE, date(2026, 4, 24), 1, date(2026, 4, 28)),
        (NATIONAL, date(2026, 12, 31), 1, date(2027, 1, 4)),  # 1 January, then a weekend
    ],
)
def test_working_days_skip_weekends_and_holidays(calendar, start, count, expected):
    assert calendar.add_working_days(start, count) == expected
    assert calendar.working_days_between(start, expected) == count


def test_an_unknown_subdivision_is_refused_at_start_up():
    check_subdivisions()  # the package's own list: every code is known
    with pytest.raises(ImproperlyConfigured, match="6AE"):
        check_subdivisions(known=["57", "971", "972", "973", "974", "976"])


@pytest.mark.django_db
def test_each_territory_has_the_calendar_of_its_departements(reference_data):
    from territories.models import Territory

    def calendar(code: str) -> FrenchCalendar:
        return FrenchCalendar.for_territory(Territory.objects.get(code=code))

    assert calendar("4408").subdivisions == ("57",)  # 54;55;57
    assert calendar("4402").subdivisions == ("6AE",)  # Bas-Rhin, Haut-Rhin
    assert calendar("0101").subdivisions == ("971",)
    assert calendar("8414").subdivisions == ()
    assert not calendar("4408").is_working_day(date(2026, 4, 3))
    assert calendar("8414").is_working_day(date(2026, 4, 3))

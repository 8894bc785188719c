"""The day of receipt is the day in Paris, around the changes of daylight saving time."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.models import Case
from deadlines.calendar import FrenchCalendar
from deadlines.models import Clock
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("moment", "received"),
    [
        # 00:30 in Paris on the night summer time starts (29 March 2026): still 28 in UTC.
        (datetime(2026, 3, 28, 23, 30, tzinfo=ZoneInfo("UTC")), date(2026, 3, 29)),
        # 00:30 in Paris on the night summer time ends (25 October 2026), CEST: UTC+2.
        (datetime(2026, 10, 24, 22, 30, tzinfo=ZoneInfo("UTC")), date(2026, 10, 25)),
        # 23:30 in Paris that same day, CET: UTC+1, still 25 October in Paris.
        (datetime(2026, 10, 25, 22, 30, tzinfo=ZoneInfo("UTC")), date(2026, 10, 25)),
    ],
)
def test_a_receipt_around_a_daylight_saving_change_is_dated_in_paris(
    reference_data, moment, received
):
    with time_machine.travel(moment, tick=False):
        contract = factories.contract_in_state("regional_review")
    clock = Clock.objects.get(case=contract)
    assert clock.received_on == received
    # 30 working days of the regional stage from the Paris day, not the UTC one.
    expected = FrenchCalendar.for_territory(contract.territory).add_working_days(received, 30)
    assert clock.stage_due_on == expected == Case.objects.get(pk=contract.pk).due_on

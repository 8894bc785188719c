"""The waves in the contracts' and fiches-actions' lists: the filter's choices and condition."""

from django.db.models import Exists, OuterRef

from cases.contracts.lists import WAVE_FILTER
from cases.kernel.compiled import UserQuery
from cases.waves import selectors as wave_selectors
from cases.waves.models import WaveItem

# The filters' waves: the same query for every page and user but for the user's id.
WAVES = UserQuery(
    lambda user: (
        wave_selectors.waves_for_user(user).order_by("-date", "-pk").values_list("pk", "name")
    )
)


def wave_choices(user) -> list:
    return WAVES.rows(user)


def in_wave(contract_ref: str, wave: int) -> Exists:
    return Exists(WaveItem.objects.filter(contract=OuterRef(contract_ref), wave=wave, active=True))


WAVE_FILTER.update(choices=wave_choices, condition=in_wave)

"""The real France Expérimentation calls for projects, as the sources date them.

Source: the programme's milestones (territories/data/territoires_industrie_jalons.csv, line
« 2018-12-20 … ouvert jusqu'au 30/04/2019 », from electroniques.biz/?p=96639). The sources give
days, not hours: the call opens at the start of its first day and closes at the end of its
last, Paris time: the closing instant is midnight after the last day, excluded.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from cases.derogations.models import CallForProjects

PARIS = ZoneInfo("Europe/Paris")
REAL_CALLS = [
    {
        "name": "France Expérimentation – Territoires d'industrie",
        "description": (
            "Appel à projets lancé le 20 décembre 2018 : les territoires d'industrie peuvent "
            "demander à déroger, à titre expérimental, à une règle réglementaire qui bloque un "
            "projet industriel."
        ),
        "opens_at": datetime(2018, 12, 20, 0, 0, 0, tzinfo=PARIS),
        "closes_at": datetime(2019, 5, 1, 0, 0, 0, tzinfo=PARIS),
    }
]


def load_real_calls() -> int:
    """Create or update the real calls; return how many changed."""
    changed = 0
    for values in REAL_CALLS:
        fields = {key: value for key, value in values.items() if key != "name"}
        call, created = CallForProjects.objects.get_or_create(name=values["name"], defaults=fields)
        if created:
            changed += 1
            continue
        stale = {key: value for key, value in fields.items() if getattr(call, key) != value}
        if stale:
            CallForProjects.objects.filter(pk=call.pk).update(**stale)
            changed += 1
    return changed

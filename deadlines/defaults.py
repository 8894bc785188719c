"""The rules a new installation starts with (data migration 0002, and the tests after a
flush); documented in the README."""

DEFAULTS = [
    {
        # A contract is negotiated: no legal effect of silence; the programme's own targets.
        "kind": "contract",
        "silence": "none",
        "period": 2,
        "unit": "months",
        "on_changes": "pause",
        "regional_days": 30,
        "ministerial_days": 20,
        "reminders": "15,5,1",
    },
    {
        # A request to depart from a rule: silence is a refusal, and an incomplete request's
        # period runs from the day it is complete (code des relations entre le public et
        # l'administration, art. L114-5).
        "kind": "derogation",
        "silence": "rejection",
        "period": 2,
        "unit": "months",
        "on_changes": "restart",
        "regional_days": 20,
        "ministerial_days": 20,
        "reminders": "15,5,1",
    },
]


def create_default_rules(model=None) -> None:
    """The default rule of each case kind that has none (``model``: a migration's own)."""
    if model is None:
        from deadlines.models import DeadlineRule as model
    for values in DEFAULTS:
        if not model.objects.filter(kind=values["kind"], call__isnull=True).exists():
            model.objects.create(**values)

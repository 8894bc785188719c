"""The filtered list of derogation requests (see ``cases.kernel.lists``)."""

from django.db.models import (
    Q,
    QuerySet,
)

from cases.derogations import selectors as derogation_selectors
from cases.derogations.models import CallForProjects, DerogationRequest, rule_reference_key
from cases.kernel.lists import due, period


def call_choices() -> list:
    return list(CallForProjects.objects.order_by("-opens_at").values_list("pk", "name"))


def derogation_list(user, data: dict | None) -> QuerySet[DerogationRequest]:
    requests = derogation_selectors.derogations_for_user(user)
    if not data:
        return requests
    if data.get("q"):
        text = data["q"]
        requests = requests.filter(
            Q(title__icontains=text)
            | Q(reference__icontains=text)
            | Q(rule_reference__icontains=text)
            | Q(territory__name__icontains=text)
        )
    for name, lookup in (
        ("call", "call_id"),
        ("state", "state"),
        ("outcome", "outcome"),
        ("region", "territory__pilot_region_id"),
    ):
        if data.get(name):
            requests = requests.filter(**{lookup: data[name]})
    requests = requests.filter(due(data))
    if data.get("rule"):
        # The key matches every spelling of the same text (and a key given as is).
        requests = requests.filter(rule_reference_key=rule_reference_key(data["rule"]))
    return requests.filter(period("submitted_at", data.get("since"), data.get("until")))

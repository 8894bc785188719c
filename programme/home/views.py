"""The home page: one section per role the user holds, and the territory list."""

from collections import defaultdict
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import territories_for_user
from cases.models import FUNDER_LABELS, STATE_LABELS, Case
from programme.home import selectors
from programme.home.collation import fold, french_key
from territories.models import TerritoryIntercommunality

# Built by the dashboard's own app; the home links to its address, not to its code.
DASHBOARD_PATH = "/tableau-de-bord/"
TERRITORIES_PER_PAGE = 20
CASE_LISTS = {Case.Kind.CONTRACT: "contract-list", Case.Kind.DEROGATION: "derogation-list"}


def list_url(name: str, **params) -> str:
    """A filtered list's address, or the empty string while that list does not exist."""
    try:
        url = reverse(name)
    except NoReverseMatch:
        return ""
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    return f"{url}?{query}" if query else url


@login_required
def home(request):
    user = request.user
    profile = selectors.profile_of(user)
    if profile.roles and profile.roles <= {Role.STEERING_MEMBER}:
        return redirect(DASHBOARD_PATH)
    today = timezone.localdate()
    context: dict = {"title": "Accueil", "profile": profile, "today": today}
    if Role.EPCI_AGENT in profile.roles:
        context["epci"] = epci_context(user, profile)
    if Role.REGION_REVIEWER in profile.roles:
        context["region"] = region_context(user, profile)
    if Role.MINISTRY_AGENT in profile.roles:
        context["ministry"] = ministry_context(today)
    if Role.OPERATOR_AGENT in profile.roles:
        context["operator"] = operator_context(user, profile, today)
    if Role.STEERING_MEMBER in profile.roles:
        context["dashboard_path"] = DASHBOARD_PATH
    return render(request, "programme/home.html", context)


def epci_context(user, profile) -> dict:
    return {
        "drafts": selectors.epci_drafts(user),
        "changes": selectors.epci_changes_asked(user),
        "decisions": selectors.epci_decisions(user),
        "may_create": profile.may_create,
        "draft_contracts_url": list_url("contract-list", state="draft"),
        "draft_derogations_url": list_url("derogation-list", state="draft"),
    }


def region_context(user, profile) -> dict:
    counts = selectors.region_cases_by_state(user)
    regions = []
    for pk, name in profile.regions:
        figures = counts.get(pk, {})
        rows = []
        for state in selectors.ALL_STATES:
            cells: list[dict | None] = []
            for kind, states in (
                (Case.Kind.CONTRACT, selectors.CONTRACT_STATES),
                (Case.Kind.DEROGATION, selectors.DEROGATION_STATES),
            ):
                if state not in states:
                    cells.append(None)
                    continue
                count = figures.get((kind, state), 0)
                cells.append(
                    {"count": count, "url": list_url(CASE_LISTS[kind], state=state, region=pk)}
                )
            rows.append({"label": STATE_LABELS[state], "cells": cells})
        regions.append(
            {
                "pk": pk,
                "name": name,
                "rows": rows,
                "contracts": sum(
                    n for (kind, _), n in figures.items() if kind == Case.Kind.CONTRACT
                ),
                "derogations": sum(
                    n for (kind, _), n in figures.items() if kind == Case.Kind.DEROGATION
                ),
                "contracts_url": list_url("contract-list", region=pk),
                "derogations_url": list_url("derogation-list", region=pk),
            }
        )
    single = profile.regions[0][0] if len(profile.regions) == 1 else ""
    return {
        "tasks": selectors.region_tasks(user),
        "regions": regions,
        "opinions": selectors.region_opinions_to_give(user),
        "opinions_url": list_url("derogation-list", state="regional_review", region=single),
        "tasks_url": list_url("task-list"),
    }


def ministry_context(today) -> dict:
    wave = selectors.next_planned_wave(today)
    return {
        "to_sign_off": selectors.ministry_to_sign_off(),
        "to_sign_off_url": list_url("contract-list", state="ministerial_review"),
        "without_wave": selectors.ministry_signed_off_without_wave(),
        "signed_off_url": list_url("contract-list", state="signed_off"),
        "wave": wave,
        "wave_contracts_url": list_url("contract-list", wave=wave.pk) if wave else "",
        "waves_url": list_url("wave-list"),
        "to_decide": selectors.ministry_derogations_to_decide(),
        "to_decide_url": list_url("derogation-list", state="ministerial_review"),
    }


def operator_context(user, profile, today) -> dict:
    funder = profile.operators[0] if len(profile.operators) == 1 else ""
    totals = selectors.operator_totals(profile)
    return {
        "opinions": selectors.operator_opinions(profile, today),
        "contracts": selectors.operator_funded_contracts(user, totals),
        "totals": totals,
        "funders": [FUNDER_LABELS.get(code, code) for code in profile.operators],
        "contracts_url": list_url("contract-list", funder=funder),
        "actions_url": list_url("action-list", funder=funder),
    }


@login_required
def territory_list(request):
    """Every territory in the user's scope, in French alphabetical order, searchable by
    name, code or EPCI without minding accents or case (a few hundred rows at most)."""
    query = request.GET.get("q", "").strip()[:100]
    scoped = territories_for_user(request.user)
    territories = list(scoped.select_related("pilot_region").annotate(epci_count=Count("links")))
    if query:
        needle = fold(query)
        epci_names = defaultdict(list)
        for territory_id, name in TerritoryIntercommunality.objects.filter(
            territory__in=scoped
        ).values_list("territory_id", "intercommunality__name"):
            epci_names[territory_id].append(fold(name))
        territories = [
            territory
            for territory in territories
            if needle in fold(territory.name)
            or needle in territory.code.casefold()
            or any(needle in name for name in epci_names[territory.pk])
        ]
    territories.sort(key=lambda territory: french_key(territory.name))
    page = Paginator(territories, TERRITORIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "programme/territory_list.html",
        {
            "title": "Territoires",
            "page": page,
            "q": query,
            "query": urlencode({"q": query}) if query else "",
        },
    )

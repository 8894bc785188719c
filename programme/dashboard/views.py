"""The dashboard, its exports, the committee's progress report and the open statistics.

Who sees which figures is ``stats.scope_for``: national for the ministry and the steering
committee, its Regions for a Region reviewer, a 404 for anyone else (never a 403 that would
confirm the page exists for others)."""

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from programme.dashboard import exports, presentation, stats
from programme.dashboard.figures import Figures
from programme.dashboard.forms import DashboardFilterForm, ReportForm
from programme.dashboard.stats import NATIONAL, Scope


def _scope_or_404(request) -> Scope:
    scope = stats.scope_for(request.user)
    if scope is None:
        raise Http404
    return scope


def _scope_label(scope: Scope, choices: dict) -> str:
    if scope.national:
        return "national"
    names = [r["name"] for r in choices["regions"]]
    return ("Région " if len(names) == 1 else "Régions ") + ", ".join(names)


def _filtered(query, figures: Figures) -> tuple[DashboardFilterForm, stats.Filters]:
    form = DashboardFilterForm(query or None, choices=figures.choices())
    return form, form.filters()


@login_required
@require_GET
def dashboard(request):
    return _dashboard_page(request, Figures(_scope_or_404(request)))


def _dashboard_page(request, figures: Figures, report_form: ReportForm | None = None):
    # The report's « since » is not the filters' « since »: a refused report shows the page
    # unfiltered, with the report's error on its own field.
    form, filters = _filtered(request.GET if report_form is None else None, figures)
    latest = figures.latest(filters)
    data = latest.data
    choices = figures.choices()
    today = timezone.localdate()
    return render(
        request,
        "programme/dashboard.html",
        {
            "title": "Tableau de bord",
            "form": form,
            "filters": filters,
            "query": urlencode(filters.params()),
            "sections": presentation.sections(
                data, filters, today, national=figures.scope.national
            ),
            "scope_label": _scope_label(figures.scope, choices),
            "national": figures.scope.national,
            "computed_at": latest.computed_at,
            "current": latest.current,
            "report_form": report_form
            or ReportForm(initial={"since": today - timedelta(days=30)}, auto_id="report_%s"),
        },
        status=400 if report_form is not None else 200,
    )


@login_required
@require_GET
def dashboard_export(request, block: str, fmt: str):
    if fmt not in ("csv", "xlsx") or block not in exports.BLOCKS:
        raise Http404
    figures = Figures(_scope_or_404(request))
    _, filters = _filtered(request.GET, figures)
    title, build = exports.BLOCKS[block]
    rows = build(figures.dashboard(filters))
    stem = f"tableau-de-bord-{block}-{timezone.localdate():%Y-%m-%d}"
    if fmt == "csv":
        response = HttpResponse(exports.to_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.to_xlsx(rows, title),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def progress_report(request):
    from programme.dashboard.report import render_report

    figures = Figures(_scope_or_404(request))
    today = timezone.localdate()
    form = ReportForm(
        request.GET or {"since": (today - timedelta(days=30)).isoformat()}, auto_id="report_%s"
    )
    if not form.is_valid():
        # The form lives on the dashboard: its error is shown there, beside the figures.
        return _dashboard_page(request, figures, report_form=form)
    since = form.cleaned_data["since"]
    pdf = render_report(
        scope_label=_scope_label(figures.scope, figures.choices()),
        today=today,
        figures=figures.dashboard(stats.NO_FILTERS),
        changes=stats.changes_since(figures.scope, since),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="point-d-etape-{today:%Y-%m-%d}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


OPEN_RULE_THRESHOLD = 2


def open_statistics(data: dict) -> dict:
    """The national figures that are public: counts and sums per Region, axis, funder and
    state, the waves (public events) and the legal texts most targeted (public law) by at
    least two requests. No case reference, no title, no person: nothing finer than a Region."""
    territories, actions, money, derogations = (
        data["territories"],
        data["actions"],
        data["money"],
        data["derogations"],
    )

    def amount(value) -> float:
        return float(value)

    return {
        "licence": "Licence Ouverte / Open Licence version 2.0",
        "producteur": "Programme Territoires d'industrie",
        "territoires": {
            "total": territories["territories"],
            "ayant_un_contrat": territories["with_contract"],
            "contractualises": territories["contractualised"],
            "contrats": territories["contracts"],
            "par_etat": [
                {
                    "etat": row["state"],
                    "libelle": row["label"],
                    "contrats": row["contracts"],
                    "territoires": row["territories"],
                }
                for row in territories["by_state"]
            ],
            "par_region": [
                {
                    "code_insee": row["code"],
                    "region": row["name"],
                    "territoires": row["territories"],
                    "ayant_un_contrat": row["with_contract"],
                    "contractualises": row["contractualised"],
                    "contrats": row["contracts"],
                }
                for row in territories["by_region"]
            ],
            "par_vague": [
                {
                    "vague": row["name"],
                    "date": row["date"].isoformat(),
                    "etat": row["state"],
                    "contrats": row["contracts"],
                    "contractualises": row["contractualised"],
                }
                for row in data["waves"]
            ],
        },
        "fiches_actions": {
            "total": actions["count"],
            "cout_total": amount(actions["cost"]),
            "par_axe": [
                {"axe": row["axis"], "nombre": row["count"], "cout_total": amount(row["cost"])}
                for row in actions["by_axis"]
            ],
            "par_statut": [
                {"statut": row["status"], "nombre": row["count"], "cout_total": amount(row["cost"])}
                for row in actions["by_status"]
            ],
            "par_region": [
                {
                    "code_insee": row["code"],
                    "region": row["name"],
                    "nombre": row["count"],
                    "cout_total": amount(row["cost"]),
                }
                for row in actions["by_region"]
            ],
        },
        "financements": {
            "demande": amount(money["requested"]),
            "engage": amount(money["committed"]),
            "par_financeur": [
                {
                    "financeur": row["funder"],
                    "libelle": row["label"],
                    "demande": amount(row["requested"]),
                    "engage": amount(row["committed"]),
                }
                for row in money["by_funder"]
            ],
            "par_region": [
                {
                    "code_insee": row["code"],
                    "region": row["name"],
                    "demande": amount(row["requested"]),
                    "engage": amount(row["committed"]),
                }
                for row in money["by_region"]
            ],
            "par_axe": [
                {
                    "axe": row["axis"],
                    "demande": amount(row["requested"]),
                    "engage": amount(row["committed"]),
                }
                for row in money["by_axis"]
            ],
        },
        "derogations": {
            "total": derogations["count"],
            "par_etat": [
                {"etat": row["state"], "nombre": row["count"]} for row in derogations["by_state"]
            ],
            "par_decision": [
                {"decision": row["outcome"], "nombre": row["count"]}
                for row in derogations["by_outcome"]
            ],
            # A text asked by one request only would point at that request: left out.
            "textes_les_plus_vises": [
                {"texte": row["reference"], "demandes": row["count"]}
                for row in derogations["rules"]
                if row["count"] >= OPEN_RULE_THRESHOLD
            ],
        },
        "delais": {
            "depuis": data["time"]["since"].date().isoformat(),
            "par_etape": [
                {
                    "dossiers": row["kind"],
                    "etape": row["stage"],
                    "etapes_quittees": row["count"],
                    "mediane_jours": row["median"],
                    "centile_90_jours": row["p90"],
                }
                for row in data["time"]["stages"]
            ],
        },
    }


@require_GET
def api_stats(request):
    """Open data: public, without login, the national figures only."""
    latest = Figures(NATIONAL).latest(stats.NO_FILTERS)
    response = JsonResponse(
        {
            "date": timezone.localdate().isoformat(),
            # When the figures were computed: a few seconds behind the last writes at most.
            "calcule_le": timezone.localtime(latest.computed_at).replace(microsecond=0).isoformat(),
            **open_statistics(latest.data),
        },
        json_dumps_params={"ensure_ascii": False},
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response

"""Pages of the contractualisation waves. Composing and validating are for ministry agents;
the others who may see a wave (its contracts' parties, the steering committee) read it."""

from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    DecimalField,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    Value,
)
from django.forms import ModelChoiceField
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Membership, Role
from accounts.scoping import NATIONAL_ROLES
from cases.contracts.models import ActionSheet, Axis, FinancingLine, Funder, TerritoryContract
from cases.kernel import forms, selectors, services
from cases.kernel import permissions as perms
from cases.kernel.pagination import (
    COUNT_ALIAS,
    COUNT_LIMIT,
    InvalidCursor,
    Keyset,
    bounded_counts,
    count_label,
    page_query,
    paginate,
    with_bounded_count,
)
from cases.kernel.validators import validate_plain_text
from cases.kernel.views import (
    FormRefused,
    apply_error,
    confirm_page,
    refusal_json,
    refuse,
    refused,
    wants_json,
)
from cases.waves import forms as wave_forms
from cases.waves import selectors as wave_selectors
from cases.waves import services as waves
from cases.waves.documents import export_csv, export_rows, export_xlsx, render_wave_pdf
from cases.waves.models import WaveDocument


def wave_or_404(request, pk: int):
    return get_object_or_404(wave_selectors.waves_for_user(request.user), pk=pk)


def ministry_or_404(request) -> None:
    # Composition controls do not exist for the others: a 404, like any page out of scope.
    if not perms.is_ministry_agent(request.user):
        raise Http404


@login_required
def wave_list(request):
    return render(
        request,
        "cases/wave_list.html",
        {
            "title": "Vagues de contractualisation",
            "waves": wave_selectors.wave_list_for_user(request.user).order_by("-date", "-pk"),
            "can_compose": perms.is_ministry_agent(request.user),
        },
    )


@login_required
def wave_create(request):
    ministry_or_404(request)
    form = wave_forms.WaveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            if not form.is_valid():
                raise FormRefused(form)
            wave = waves.wave_create(actor=request.user, **form.cleaned_data)
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, f"Vague « {wave} » créée.")
            return redirect("wave-detail", pk=wave.pk)
    return render(
        request, "cases/wave_form.html", {"title": "Nouvelle vague", "form": form}, status=status
    )


# A wave holds thousands of contracts at the programme's scale: its page shows them, and
# its history, a keyset page at a time; the totals above them are of the whole wave.
WAVE_PAGE_SIZE = 50
CONTRACT_ORDER = Keyset((("pk", "int"),), descending=False)
EVENT_ORDER = Keyset((("seq", "int"),), descending=False)
SECTIONS = ("contracts", "history")


def composition(wave, user, roles: set[str], cursor: str | None = None) -> dict:
    """One page of the wave's contracts of the territories the user may see, with the
    totals, count and derogations of all of them (aggregated in SQL, whatever the page).
    ``roles``: the user's (``roles_of``)."""
    visible = wave_selectors.wave_contracts_for_user(user, wave, roles=roles)
    actions = ActionSheet.objects.filter(contract=OuterRef("pk")).order_by().values("contract")
    rows = visible.annotate(
        # Per row of the page, not grouped over the whole wave.
        action_count=Subquery(actions.annotate(n=Count("*")).values("n")),
        action_total=Subquery(actions.annotate(s=Sum("total_cost")).values("s")),
    )
    count, by_axis, by_funder = totals_of(visible)
    return {
        "contracts": paginate(rows, CONTRACT_ORDER, cursor, size=WAVE_PAGE_SIZE),
        "contract_count": count,
        "by_axis": by_axis,
        "by_funder": by_funder,
        "derogations": wave_selectors.derogations_readable(
            user, waves.derogations_of(wave, visible)
        ),
    }


def totals_of(
    contracts: QuerySet,
) -> tuple[int, list[tuple[str, Decimal]], list[tuple[str, Decimal, Decimal]]]:
    """How many contracts ``contracts`` holds, and as ``waves.totals`` gives them, the costs
    by axis and by funder the money requested and committed: in one query (one UNION ALL of
    the sums, over a subquery of the contracts, never a list of their ids)."""
    zero = Decimal("0")
    ids = contracts.values("pk")
    money = DecimalField(max_digits=16, decimal_places=2)
    # The names only avoid the model's own (a UNION matches its columns by position);
    # values() before the Count, or the count would be grouped by contract.
    counted = (
        TerritoryContract.objects.filter(selectors.AmongIds("pk", ids))
        .order_by()
        .annotate(part=Value("count"), name=Value(""), none=Value(None, output_field=money))
        .values("part", "name", "none")
        .annotate(number=Count("pk", output_field=money))
        .values_list("part", "name", "number", "none")
    )
    axes = (
        ActionSheet.objects.filter(selectors.AmongIds("contract_id", ids))
        .order_by()
        .values("axis")
        .annotate(
            kind=Value("axis"),
            total=Sum("total_cost"),
            committed=Value(None, output_field=money),
        )
        .values_list("kind", "axis", "total", "committed")
    )
    funders = (
        FinancingLine.objects.filter(selectors.AmongIds("action__contract_id", ids))
        .order_by()
        .values("funder")
        .annotate(
            kind=Value("funder"),
            total=Sum("amount"),
            committed=Sum("committed_amount", filter=Q(status=FinancingLine.Status.COMMITTED)),
        )
        .values_list("kind", "funder", "total", "committed")
    )
    count = 0
    by_axis = dict.fromkeys(Axis.values, zero)
    by_funder: dict[str, tuple[Decimal, Decimal]] = {}
    # The funders first: an untyped NULL met by another resolves to text, not to numeric.
    for kind, key, total, committed in funders.union(axes, counted, all=True).order_by():
        if kind == "count":
            count = int(total or 0)
        elif kind == "axis":
            by_axis[key] = total or zero
        else:
            by_funder[key] = (total or zero, committed or zero)
    labels = dict(Funder.choices)
    return (
        count,
        [(label, by_axis[value]) for value, label in Axis.choices],
        [(labels[code], *by_funder[code]) for code in sorted(by_funder)],
    )


def wave_for_page(request, pk: int):
    """The wave with its document's fingerprint and the viewer's roles (which size the
    page's scopes for the planner: ``contract_selectors.contracts_in_scope``), in one query."""
    roles = (
        Membership.objects.filter(user=request.user)
        .order_by()
        .values("user")
        .annotate(names=StringAgg("role", Value(",")))
        .values("names")
    )
    documents = WaveDocument.objects.filter(wave=OuterRef("pk"))
    # Any: the page's own attributes are set on the instance below.
    wave: Any = get_object_or_404(
        wave_selectors.waves_for_user(request.user)
        .select_related("validated_by")
        .annotate(
            document_sha256=Subquery(documents.values("sha256")[:1]),
            viewer_role_names=Subquery(roles),
        ),
        pk=pk,
    )
    wave.viewer_roles = set(filter(None, (wave.viewer_role_names or "").split(",")))
    wave.viewer_composes = Role.MINISTRY_AGENT in wave.viewer_roles
    wave.viewer_national = bool(wave.viewer_roles & set(NATIONAL_ROLES))
    return wave


@login_required
def wave_detail(request, pk: int):
    return wave_page(request, wave_for_page(request, pk))


def wave_page(request, wave, *, status: int = 200, **bound):
    """The wave's page; ``bound`` are the refused forms shown again with their errors.
    ``wave`` comes from ``wave_for_page``. Its contracts and its history are paged on their
    own: ``section`` says which one the cursor pages."""
    composer = wave.viewer_composes and wave.state == "planned"
    whole_wave = wave.viewer_national
    roles = wave.viewer_roles
    paged = request.GET.get("section")
    cursors = {name: request.GET.get("cursor") if name == paged else None for name in SECTIONS}
    problems = []
    try:
        parts = composition(wave, request.user, roles, cursors["contracts"])
    except InvalidCursor as error:
        problems.append(error.message)
        parts = composition(wave, request.user, roles)
    visible = wave_selectors.wave_visible_references(request.user, wave, roles=roles)
    events = wave_selectors.wave_events_for_user(wave, visible)
    try:
        history = paginate(events, EVENT_ORDER, cursors["history"], size=WAVE_PAGE_SIZE)
    except InvalidCursor as error:
        problems.append(error.message)
        history = paginate(events, EVENT_ORDER, None, size=WAVE_PAGE_SIZE)
    history.rows = wave_selectors.visible_payloads(history.rows, visible)
    context = {
        "title": wave.name,
        "wave": wave,
        "composer": composer,
        "add_form": None,
        "document": {"sha256": wave.document_sha256} if wave.document_sha256 else None,
        "whole_wave": whole_wave,
        "events": history,
        "event_caption": count_label(history.count, "événement"),
        "query": page_query(request, drop=("cursor", "section")),
        "problems": problems,
        "page_size": WAVE_PAGE_SIZE,
        **(candidates(request) if composer else {}),
        **parts,
        **bound,
    }
    if problems and status == 200:
        status = 400
    return render(request, "cases/wave_detail.html", context, status=status)


SEARCH_LIMIT = 20


def candidates(request) -> dict:
    """The signed-off contracts a wave may take, searched by reference or territory on the
    server (there are thousands at the programme's scale): at most SEARCH_LIMIT of them,
    those waiting longest first, and how many wait in all (bounded)."""
    text = request.GET.get("q", "").strip()
    eligible = waves.eligible_contracts()
    problem = ""
    if len(text) > 100:
        text, problem = "", "La recherche est limitée à 100 caractères."
    else:
        try:
            validate_plain_text(text)
        except ValidationError as error:
            text, problem = "", " ".join(error.messages)
    found = with_bounded_count(eligible)  # the count is of every contract waiting
    if text:
        found = found.filter(Q(reference__icontains=text) | Q(territory__name__icontains=text))
    rows = list(
        found.select_related("territory__pilot_region").order_by("signed_off_at", "pk")[
            : SEARCH_LIMIT + 1
        ]
    )
    if rows:
        waiting = getattr(rows[0], COUNT_ALIAS)
        waiting = waiting if waiting <= COUNT_LIMIT else None
    else:
        (waiting,) = bounded_counts(eligible) if text else (0,)
    return {
        "search": text,
        "search_problem": problem,
        "found": rows[:SEARCH_LIMIT],
        "found_more": len(rows) > SEARCH_LIMIT,
        "search_limit": SEARCH_LIMIT,
        "waiting": (
            f"{count_label(waiting, 'contrat validé', 'contrats validés')} par le ministère "
            f"{'attend' if waiting == 1 else 'attendent'} une vague."
        ),
        "any_waiting": waiting != 0,
    }


@login_required
@require_POST
def wave_add(request, pk: int):
    ministry_or_404(request)
    wave = wave_or_404(request, pk)
    back = reverse("wave-detail", args=[pk])
    form = wave_forms.WaveAddForm(request.POST, contracts=waves.eligible_contracts())
    try:
        if not form.is_valid():
            raise FormRefused(form, "Choisissez un contrat validé par le ministère.")
        waves.wave_add_contract(
            wave=wave,
            actor=request.user,
            contract=form.cleaned_data["contract"],
            expected_version=form.cleaned_data["version"],
        )
    except services.CaseActionError as error:
        return refused(
            request,
            error,
            lambda error: wave_page(
                request,
                wave_for_page(request, pk),
                status=error.status,
                add_form=only_the_posted_choice(apply_error(form, error)),
            ),
        )
    messages.success(request, f"{form.cleaned_data['contract'].reference} ajouté à la vague.")
    return redirect(back)


def only_the_posted_choice(form):
    """The refused form shown again offers the contract it was sent, not the thousands a
    wave may take (the search below finds the others); its errors are already computed."""
    posted = str(form.data.get("contract", ""))
    field = cast(ModelChoiceField, form.fields["contract"])
    field.queryset = (
        TerritoryContract.objects.filter(pk=int(posted))
        if posted.isdigit() and len(posted) < 19
        else TerritoryContract.objects.none()
    )
    return form


@login_required
@require_POST
def wave_remove(request, pk: int, contract_id: int):
    ministry_or_404(request)
    wave = wave_or_404(request, pk)
    back = reverse("wave-detail", args=[pk])
    contract = get_object_or_404(waves.contracts_of(wave), pk=contract_id)
    form = forms.VersionedForm(request.POST)
    if not form.is_valid():
        return refuse(
            request, services.InvalidInput("Formulaire incomplet : rechargez la page."), back
        )
    try:
        waves.wave_remove_contract(
            wave=wave,
            actor=request.user,
            contract=contract,
            expected_version=form.cleaned_data["version"],
        )
    except services.CaseActionError as error:
        return refuse(request, error, back)
    messages.success(request, f"{contract.reference} retiré de la vague.")
    return redirect(back)


@login_required
@require_POST
def wave_cancel(request, pk: int):
    ministry_or_404(request)
    wave = wave_or_404(request, pk)
    back = reverse("wave-detail", args=[pk])
    form = forms.VersionedForm(request.POST)
    if not form.is_valid():
        return refuse(
            request, services.InvalidInput("Formulaire incomplet : rechargez la page."), back
        )
    if request.POST.get("confirm") != "1" and wave.state == "planned":
        return confirm_page(
            request,
            title=f"Annuler la vague « {wave} » ?",
            detail="Ses contrats en sortent et pourront entrer dans une autre vague.",
            hidden={"version": form.cleaned_data["version"]},
            back=back,
        )
    try:
        waves.wave_cancel(
            wave=wave, actor=request.user, expected_version=form.cleaned_data["version"]
        )
    except services.CaseActionError as error:
        if wants_json(request):
            return refusal_json(error)
        messages.error(request, error.text)
        return wave_page(request, wave_for_page(request, pk), status=error.status)
    messages.success(request, "La vague est annulée ; ses contrats peuvent entrer dans une autre.")
    return redirect(back)


@login_required
def wave_validate(request, pk: int):
    """GET: what validating will change, exactly. POST: validate."""
    ministry_or_404(request)
    wave = wave_or_404(request, pk)
    problems: list[str] = []
    if request.method == "POST":
        form = forms.VersionedForm(request.POST)
        if not form.is_valid():
            problems = ["Formulaire incomplet : rechargez la page."]
        else:
            try:
                waves.wave_validate(
                    wave=wave, actor=request.user, expected_version=form.cleaned_data["version"]
                )
            except services.CaseActionError as error:
                problems = [error.message, *error.problems]
            else:
                messages.success(
                    request, f"Vague « {wave} » validée : ses contrats sont contractualisés."
                )
                return redirect("wave-detail", pk=pk)
        wave.refresh_from_db()
    return render(
        request,
        "cases/wave_confirm.html",
        {
            "title": f"Valider « {wave} »",
            "wave": wave,
            "problems": problems,
            # Every contract, not a page: this lists exactly what validating changes.
            **whole_composition(wave, request.user),
        },
        status=409 if problems else 200,
    )


def whole_composition(wave, user) -> dict:
    contracts = wave_selectors.wave_contracts_for_user(user, wave)
    derogations = wave_selectors.derogations_readable(user, waves.derogations_of(wave, contracts))
    return {"contracts": list(contracts), "derogations": derogations}


@login_required
def wave_export(request, pk: int, fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise Http404
    wave = wave_or_404(request, pk)
    contracts = wave_selectors.wave_contracts_for_user(request.user, wave).prefetch_related(
        "actions__financings"
    )
    rows = export_rows(contracts)
    stem = f"vague-{wave.pk}-{wave.date:%Y-%m-%d}"
    if fmt == "csv":
        response = HttpResponse(export_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            export_xlsx(rows, wave.name),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def wave_document(request, pk: int):
    wave = wave_or_404(request, pk)
    document = get_object_or_404(WaveDocument, wave=wave)
    response = HttpResponse(
        wave_pdf_for(request.user, wave, document), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{document.original_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def wave_pdf_for(user, wave, document: WaveDocument) -> bytes:
    """The stored PDF lists every contract of the wave: it goes only to those who see them
    all. The others get the same document made of the contracts they see."""
    if wave_selectors.sees_whole_wave(user):
        return document.file.read()
    contracts = list(wave_selectors.wave_contracts_for_user(user, wave))
    if not contracts:
        raise Http404
    summary = waves.wave_summary(
        wave,
        contracts,
        wave_selectors.derogations_readable(user, waves.derogations_of(wave, contracts)),
        validated_on=timezone.localdate(wave.validated_at),
        validated_by=wave.validated_by,
    )
    return render_wave_pdf(summary)

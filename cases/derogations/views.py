"""Pages of the France Expérimentation calls and derogation requests.

Every lookup goes through a selector scoped to the user, every change through a service.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Organisation
from cases.derogations import forms as derogation_forms
from cases.derogations import lists as derogation_lists
from cases.derogations import selectors as derogation_selectors
from cases.derogations import services as derogations
from cases.derogations.models import CallForProjects
from cases.kernel import lists, selectors, services, uploads
from cases.kernel import permissions as perms
from cases.kernel.models import Opinion
from cases.kernel.views import (
    CREATABLE_SCOPE,
    KIND_PAGES,
    ConfirmationCancelled,
    ConfirmationNeeded,
    FormRefused,
    apply_error,
    case_page_parts,
    confirm_transition,
    creatable_territories,
    decide,
    decided,
    edit_refusal,
    form_status,
    list_page,
    refusal_json,
    refuse_edit,
    refused,
    resend_merged,
    transition_form_for,
    wants_json,
)


def request_or_404(request, reference: str):
    visible = derogation_selectors.derogations_for_user(request.user).select_related("updated_by")
    return get_object_or_404(visible, reference=reference)


@login_required
def call_list(request):
    return render(
        request,
        "cases/call_list.html",
        {
            "title": "Appels à projets",
            "calls": CallForProjects.objects.all(),
            "now": timezone.now(),
        },
    )


@login_required
def call_detail(request, pk: int):
    call = get_object_or_404(CallForProjects, pk=pk)
    now = timezone.now()
    return render(
        request,
        "cases/call_detail.html",
        {
            "title": call.name,
            "call": call,
            "now": now,
            "is_open": call.is_open(now),
            "not_yet": now < call.opens_at,
            "requests": derogation_selectors.derogations_for_user(request.user)
            .filter(call=call)
            .order_by("-updated_at"),
            "can_create": creatable_territories(request.user).exists(),
        },
    )


@login_required
def derogation_list(request):
    regions, _, can_create = lists.scope_choices(CREATABLE_SCOPE.rows(request.user))
    form = derogation_forms.DerogationFilterForm(
        request.GET or None, regions=regions, calls=derogation_lists.call_choices()
    )
    return list_page(
        request,
        form,
        lambda data: derogation_lists.derogation_list(request.user, data),
        lists.case_order,
        "cases/derogation_list.html",
        {"title": "Demandes de dérogation", "can_create": can_create},
        noun=("demande", None, True),
    )


@login_required
def derogation_create(request):
    territories = creatable_territories(request.user).order_by("name")
    initial = {"call": request.GET.get("appel")} if request.GET.get("appel") else None
    form = derogation_forms.DerogationCreateForm(
        request.POST or None, territories=territories, initial=initial
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = derogations.derogation_create(
                territory=data["territory"],
                call=data["call"],
                actor=request.user,
                **{name: data[name] for name in derogations.REQUEST_FIELDS},
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, f"Demande {created.reference} enregistrée en brouillon.")
            return redirect("derogation-detail", created.reference)
    if not territories.exists():
        messages.info(
            request, "Seuls les agents d'une intercommunalité peuvent déposer une demande."
        )
    return render(
        request,
        "cases/derogation_form.html",
        {"title": "Nouvelle demande de dérogation", "form": form, "derogation": None},
        status=form_status(form, status),
    )


@login_required
def derogation_edit(request, reference: str):
    derogation = request_or_404(request, reference)
    refusal = edit_refusal(
        request.user,
        derogation,
        "Cette demande n'est pas modifiable par vous dans son état actuel.",
    )
    if refusal is not None and request.method != "POST":
        messages.error(request, refusal.message)
        return redirect("derogation-detail", reference)
    form = derogation_forms.DerogationForm(
        request.POST or None, instance=derogation, initial={"version": derogation.version}
    )
    status = 200
    if request.method == "POST" and refusal is not None:
        status = refuse_edit(form, refusal)
    elif request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in derogations.REQUEST_FIELDS}
        try:
            derogations.derogation_update(
                case=derogation,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                changes=changes,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            if isinstance(error, services.StaleCase):
                current = type(derogation)._default_manager.get(pk=derogation.pk)
                form, status = resend_merged(form, error, current)
            else:
                apply_error(form, error)
                status = error.status
        else:
            messages.success(request, "Demande enregistrée.")
            return redirect("derogation-detail", reference)
    return render(
        request,
        "cases/derogation_form.html",
        {"title": f"Modifier {derogation.reference}", "form": form, "derogation": derogation},
        status=form_status(form, status),
    )


def consultable_organisations(user):
    return Organisation.objects.filter(
        kind__in=[Organisation.Kind.MINISTRY, Organisation.Kind.OPERATOR]
    ).exclude(memberships__user=user)


def decision_letter(derogation):
    """The letter written with the decision, as its audit event names it."""
    event = derogation.events.filter(name="decide").order_by("-seq").first()
    if event is None or "letter" not in event.payload:
        return None
    return derogation.documents.filter(pk=event.payload["letter"]["document"]).first()


@login_required
def derogation_detail(request, reference: str):
    return derogation_page(request, request_or_404(request, reference))


def derogation_page(request, derogation, *, status: int = 200, **bound):
    """The request's page; ``bound`` are the refused forms shown again with their errors,
    even if the turn they belong to has passed meanwhile: the user's text is not lost."""
    user = request.user
    reviewer = perms.is_reviewing_institution(user, derogation)
    events = list(selectors.events_for_user(user, derogation))
    ministry_turn = derogation.state == "ministerial_review" and perms.is_ministry_agent(user)
    region_turn = derogation.state == "regional_review" and perms.is_region_reviewer_for(
        user, derogation
    )
    return render(
        request,
        "cases/derogation_detail.html",
        {
            "title": f"{derogation.reference} — {derogation.title or 'demande sans intitulé'}",
            "derogation": derogation,
            **case_page_parts(user, derogation, events),
            "reviewer": reviewer,
            "region_form": derogation_forms.RegionOpinionForm(
                initial={
                    "version": derogation.version,
                    "opinion": derogation.region_opinion or None,
                    "reasons": derogation.region_opinion_reasons,
                }
            )
            if region_turn
            else None,
            "decision_form": derogation_forms.DecisionForm(initial={"version": derogation.version})
            if ministry_turn
            else None,
            "opinion_form": derogation_forms.OpinionRequestForm(
                organisations=consultable_organisations(user)
            )
            if ministry_turn
            else None,
            "opinions": selectors.opinions_for_user(user, derogation),
            "today": timezone.localdate(),
            "letter": decision_letter(derogation),
            "similar": derogation_selectors.similar_requests(user, derogation)[:20],
            **bound,
        },
        status=status,
    )


KIND_PAGES["derogation"] = lambda request, reference, **bound: derogation_page(
    request, request_or_404(request, reference), **bound
)


def page_again(request, reference: str, name: str, form):
    """What a refused form of the request's page answers: the page, that form bound."""

    def page(error: services.CaseActionError):
        fresh = request_or_404(request, reference)
        return derogation_page(
            request, fresh, status=error.status, **{name: apply_error(form, error)}
        )

    return page


@login_required
@require_POST
def derogation_transition(request, reference: str):
    derogation = request_or_404(request, reference)
    back = reverse("derogation-detail", args=[reference])
    try:
        updated = decide(request, derogation)
    except ConfirmationNeeded as ask:
        return confirm_transition(request, derogation, ask, back)
    except ConfirmationCancelled as cancelled:
        return derogation_page(request, derogation, transition_form=cancelled.form)
    except services.CaseActionError as error:
        form = transition_form_for(request, error)
        return refused(request, error, page_again(request, reference, "transition_form", form))
    return decided(request, updated, back)


@login_required
@require_POST
def region_opinion(request, reference: str):
    derogation = request_or_404(request, reference)
    back = reverse("derogation-detail", args=[reference])
    form = derogation_forms.RegionOpinionForm(request.POST)
    try:
        if not form.is_valid():
            raise FormRefused(form, "Choisissez un avis et donnez ses motifs.")
        derogations.region_opinion_give(
            case=derogation,
            actor=request.user,
            opinion=form.cleaned_data["opinion"],
            reasons=form.cleaned_data["reasons"],
            expected_version=form.cleaned_data["version"],
        )
    except services.CaseActionError as error:
        return refused(request, error, page_again(request, reference, "region_form", form))
    messages.success(request, "L'avis de la Région est enregistré.")
    return redirect(back)


@login_required
@require_POST
def derogation_decide(request, reference: str):
    derogation = request_or_404(request, reference)
    back = reverse("derogation-detail", args=[reference])
    form = derogation_forms.DecisionForm(request.POST)
    try:
        updated = _decide(request, derogation, form)
    except services.CaseActionError as error:
        return refused(request, error, page_again(request, reference, "decision_form", form))
    return decided(request, updated, back)


def _decide(request, derogation, form):
    if not form.is_valid():
        raise FormRefused(form, "La décision est incomplète :")
    data = form.cleaned_data
    return derogations.case_decide(
        case=derogation,
        actor=request.user,
        outcome=data["outcome"],
        motivation=data["motivation"],
        legal_basis=data["legal_basis"],
        granted_duration_months=data["granted_duration_months"],
        granted_conditions=data["granted_conditions"],
        solution=data["solution"],
        expected_version=data["version"],
    )


@login_required
@require_POST
def opinion_request(request, reference: str):
    derogation = request_or_404(request, reference)
    back = reverse("derogation-detail", args=[reference]) + "#avis"
    form = derogation_forms.OpinionRequestForm(
        request.POST, organisations=consultable_organisations(request.user)
    )
    try:
        if not form.is_valid():
            raise FormRefused(form, "Choisissez l'organisation, la date et la question.")
        opinion = derogations.opinion_request(
            case=derogation,
            actor=request.user,
            organisation=form.cleaned_data["organisation"],
            due_on=form.cleaned_data["due_on"],
            question=form.cleaned_data["question"],
        )
    except services.CaseActionError as error:
        return refused(request, error, page_again(request, reference, "opinion_form", form))
    messages.success(request, f"Avis demandé à {opinion.organisation}.")
    return redirect(back)


def opinion_or_404(request, pk: int) -> Opinion:
    """An opinion the user's organisation was asked for, or that the user reviews."""
    visible = selectors.cases_for_user(request.user)
    opinion = get_object_or_404(
        Opinion.objects.select_related("case", "organisation"), pk=pk, case__in=visible
    )
    allowed = perms.is_member_of(request.user, opinion.organisation_id) or (
        perms.is_reviewing_institution(request.user, opinion.case)
    )
    if not allowed:
        raise Http404
    return opinion


@login_required
@csrf_exempt
def opinion_answer(request, pk: int):
    """Who may answer is checked before the body, and its optional file, are read
    (CsrfViewMiddleware would parse them all): only then is the CSRF token checked."""
    opinion = opinion_or_404(request, pk)
    derogation = derogation_selectors.derogations_for_user(request.user).get(pk=opinion.case_id)
    member = perms.is_member_of(request.user, opinion.organisation_id)
    awaited = not opinion.answered and derogation.state == "ministerial_review"
    if request.method == "POST":
        if not member:
            raise Http404
        if not awaited:
            # Its text is given back, but no file is kept for an opinion no longer awaited.
            uploads.skip_files(request)
    return _opinion_answer(request, opinion, derogation, member, awaited)


@csrf_protect
def _opinion_answer(request, opinion, derogation, member: bool, awaited: bool):
    pk = opinion.pk
    form = derogation_forms.OpinionAnswerForm(request.POST or None, request.FILES or None)
    status, refusal = 200, None
    closed = derogations.opinion_closed(opinion, derogation) if member and not awaited else None
    if request.method == "POST" and closed is not None:
        # Whatever the form lacks, the reason it cannot be taken comes first, the text kept.
        if wants_json(request):
            return refusal_json(closed)
        status, refusal = closed.status, closed.message
    elif request.method == "POST":
        if uploads.refused(request):
            form.add_error("file", uploads.too_big_message())
            status = 400
        elif not form.is_valid():
            status = 400
        else:
            try:
                derogations.opinion_answer(
                    opinion=opinion,
                    actor=request.user,
                    verdict=form.cleaned_data["verdict"],
                    text=form.cleaned_data["text"],
                    upload=form.cleaned_data["file"],
                )
            except services.CaseActionError as error:
                if wants_json(request):
                    return refusal_json(error)
                apply_error(form, error)
                status, refusal = error.status, error.message
                if isinstance(error, derogations.OpinionAlreadyAnswered):
                    opinion, awaited = error.answered, False
            else:
                messages.success(request, "Votre avis est transmis au ministère.")
                return redirect("opinion-answer", pk=pk)
    return render(
        request,
        "cases/opinion_answer.html",
        {
            "title": f"Avis sur {derogation.reference}",
            "opinion": opinion,
            "derogation": derogation,
            "form": form if member and awaited else None,
            "awaited": awaited,
            "today": timezone.localdate(),
            # Refused with no form to show it again in: the user's text, to copy.
            "returned": returned_text(form, refusal) if not (member and awaited) else None,
        },
        status=status,
    )


def returned_text(form, refusal: str | None) -> dict | None:
    if refusal is None or not form.data.get("text"):
        return None
    verdict = dict(form.fields["verdict"].choices).get(form.data.get("verdict"))
    return {
        "message": f"{refusal} Voici votre texte pour le reprendre ou le transmettre autrement.",
        "label": f"Votre texte (avis « {verdict} »)" if verdict else "Votre texte",
        "text": form.data["text"],
    }

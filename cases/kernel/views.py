"""What every case kind's pages share: refusals shown on the page or as JSON, the decision
form and its confirmation, the lists' page, and the comments and documents of any case.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.scoping import territories_for_user
from cases.kernel import documents, forms, french, lists, pagination, selectors, services, uploads
from cases.kernel import permissions as perms
from cases.kernel.compiled import UserQuery

PAGE_SIZE = 20


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def form_status(form, status: int = 200) -> int:
    """A refused form answers 400, unless the service that refused it said otherwise."""
    return 400 if status == 200 and form.is_bound and form.errors else status


def refusal_json(error: services.CaseActionError) -> JsonResponse:
    return JsonResponse(
        {"error": error.message, "problems": error.problems, "fields": error.field_errors},
        status=error.status,
    )


def refuse(request, error: services.CaseActionError, back: str):
    """Tell the user why nothing happened: JSON with the HTTP status, or a message on the page.
    Only for forms that carry nothing typed; the others come back with ``refused``."""
    if wants_json(request):
        return refusal_json(error)
    messages.error(request, error.text)
    return redirect(back)


def refused(
    request,
    error: services.CaseActionError,
    page: Callable[[services.CaseActionError], HttpResponse],
):
    """JSON with the status, or ``page(error)``: the page again, with the user's input and
    each problem on its field, answered with the error's status."""
    if wants_json(request):
        return refusal_json(error)
    return page(error)


class FormRefused(services.InvalidInput):
    """The form itself is invalid: its errors are already on its fields."""

    def __init__(self, form, message: str = "Le formulaire contient des erreurs."):
        field_errors = {
            name if name in form.fields else NON_FIELD_ERRORS: list(errors)
            for name, errors in form.errors.items()
        }
        super().__init__(message, field_errors=field_errors)
        self.form = form


def edit_refusal(user, case, forbidden: str) -> services.CaseActionError | None:
    """Why ``user`` may not edit ``case`` now, or None if they may: its EPCI's agents hear
    the state it has reached (a colleague submitted it meanwhile), anyone else ``forbidden``."""
    if perms.can_edit(user, case):
        return None
    if not perms.is_epci_agent_for(user, case):
        return services.ActionForbidden(forbidden)
    return services.ActionNotPossible(
        f"Ce dossier n'est plus modifiable : il est à l'état « {case.state_label} »."
    )


def refuse_edit(form, refusal: services.CaseActionError) -> int:
    """A form posted to a case no longer editable: shown back with what was typed, so that
    nothing is lost, and the reason; returns the page's status."""
    apply_error(
        form,
        type(refusal)(
            f"{refusal.message} Votre saisie est reprise ci-dessous : copiez-la pour la garder."
        ),
    )
    return refusal.status


def resend_merged(form, stale: services.StaleCase, current) -> tuple:
    """An edit refused because a colleague saved the case meanwhile: the form comes back with
    both sets of changes (``forms.merged_after_stale``), on the version now, so that saving it
    again takes this user's input without losing the colleague's. Returns it and its status;
    the form as it was, with the refusal, if what it cannot show changed too."""
    if stale.current_version is None or not form.mergeable(current):
        apply_error(form, stale)
        return form, stale.status
    merged, both = forms.merged_after_stale(form, current, stale.current_version)
    for name, value in both.items():
        theirs = shown(form.fields[name], value)
        merged.add_error(
            name,
            f"Enregistré entre-temps\u00a0: « {theirs} ». Votre saisie est gardée\u00a0: "
            "enregistrez pour la garder, ou reprenez ce texte.",
        )
    merged.add_error(
        None,
        f"{stale.changed} Ses changements sont repris ci-dessous avec les vôtres"
        + (" ; vous avez changé tous deux les champs signalés" if both else "")
        + ". Rien n'est encore enregistré : vérifiez, puis enregistrez.",
    )
    return merged, stale.status


def shown(field, value) -> str:
    if value in (None, ""):
        return "(vide)"
    choices = dict(getattr(field, "choices", None) or [])
    if value in choices:
        return str(choices[value])
    if isinstance(value, Decimal):
        return french.euros(value)
    return french.date_fr(value) if isinstance(value, date) else str(value)


def apply_error(form, error: services.CaseActionError):
    """Put each problem the service knows the field of on that field, the rest above the form.
    Returns the form, bound and showing the refusal."""
    if isinstance(error, FormRefused) and error.form is form:
        return form
    form.is_valid()
    assigned = []
    for name, errors in error.field_errors.items():
        for message in errors:
            form.add_error(name if name in form.fields else None, message)
            assigned.append(message)
    rest = [problem for problem in error.problems if problem not in assigned]
    if error.message not in assigned:
        form.add_error(None, " ".join([error.message, *rest]))
    return form


TRANSITION_ID = "transition-%s"  # the decision form's comment is "transition-comment"
CONFIRM_FIRST = {"withdraw", "reject"}


class ConfirmationNeeded(Exception):
    """An irreversible transition posted without ``confirm=1``: ask before acting."""

    def __init__(self, form):
        super().__init__(form.cleaned_data["transition"])
        self.form = form


def transition_form_for(request, error: services.CaseActionError):
    if isinstance(error, FormRefused):
        return error.form
    return apply_error(forms.TransitionForm(request.POST, auto_id=TRANSITION_ID), error)


def confirm_page(request, *, title: str, hidden: dict, back: str, detail: str = "", **extra):
    """Asks before an irreversible action; posting it again with ``confirm=1`` acts.
    JSON callers are told to send ``confirm=1``."""
    if wants_json(request):
        return JsonResponse(
            {"error": f"{title} Envoyez confirm=1 pour confirmer.", "confirm_required": True},
            status=400,
        )
    context = {"title": title, "detail": detail, "action": request.path, "hidden": hidden}
    return render(request, "cases/confirm.html", {**context, "back": back, **extra})


def confirm_transition(request, case, ask: ConfirmationNeeded, back: str):
    """The page that asks before an irreversible transition, with the comment carried over."""
    data = ask.form.cleaned_data
    label = services.TRANSITION_LABELS[data["transition"]]
    return confirm_page(
        request,
        title=f"{label[:1].upper()}{label[1:]} {case.reference} ?",
        hidden={"version": data["version"], "transition": data["transition"]},
        back=back,
        comment=data["comment"],
        comment_required=data["transition"] in services.COMMENT_REQUIRED,
    )


# The step forward first (the primary button), then sending back, then ending the case.
TRANSITION_ORDER = ["submit", "approve", "forward", "sign_off", "request_changes", "reject"]


def transition_choices(case, user) -> list[tuple[str, str, bool]]:
    """The decision buttons: exactly the transitions this user may take now, main one first."""
    names = sorted(
        services.available_transitions(case, user),
        key=lambda name: TRANSITION_ORDER.index(name) if name in TRANSITION_ORDER else 99,
    )
    return [
        (name, services.TRANSITION_LABELS[name], name in services.COMMENT_REQUIRED)
        for name in names
    ]


def changes_requested(case, events: list) -> dict | None:
    """The reviewer's request for changes, for the applicant, while the case is back in draft.
    ``events``: the page's history, in order (a transition is never private)."""
    if case.state != "draft":
        return None
    last = next((event for event in reversed(events) if event.kind == "transition"), None)
    if last is None or last.name != "request_changes":
        return None
    institution = (
        f"Région {case.territory.pilot_region.name}"
        if last.from_state == "regional_review"
        else "ministère"
    )
    return {
        "actor": last.actor,
        "institution": institution,
        "created_at": last.created_at,
        "comment": last.comment,
    }


def case_page_parts(user, case, events: list) -> dict:
    """What every case kind's page shows alike: the decision, the exchanges, the history
    (``events``, read once by the caller, which needs them too)."""
    return {
        "transitions": transition_choices(case, user),
        "blocked": services.blocked_transitions(case, user),
        "changes_requested": changes_requested(case, events),
        "can_edit": perms.can_edit(user, case),
        "can_comment": perms.can_comment(user, case),
        "can_write_private": perms.is_reviewing_institution(user, case),
        "can_upload": perms.can_upload(user, case),
        "comments": selectors.comments_for_user(user, case),
        "documents": selectors.documents_for_user(user, case),
        "events": events,
        "comment_form": forms.CommentForm(),
        "document_form": forms.DocumentForm(),
        "transition_form": forms.TransitionForm(auto_id=TRANSITION_ID),
    }


def case_url(case) -> str:
    return case.get_absolute_url()


# The page of each case kind, by its ``Case.kind``: (request, reference, status, refused
# forms) to the response. Each kind's views add theirs when imported (cases.apps, cases.urls):
# the kernel names no kind.
KIND_PAGES: dict[str, Callable[..., HttpResponse]] = {}


def case_page(request, case, *, status: int, **bound):
    """The page of any case kind, with the refused forms shown again."""
    return KIND_PAGES[case.kind](request, case.reference, status=status, **bound)


def case_or_404(request, reference: str):
    """Any case kind the user may see; comments and documents work alike on all of them."""
    return get_object_or_404(selectors.cases_for_user(request.user), reference=reference)


def list_page(request, form, rows, order, template: str, context: dict, *, noun):
    """A filtered list, one keyset page of it and a bounded count. Bad filters or a bad
    cursor answer 400 with the errors, the list shown unfiltered from its first page.
    ``order``: a Keyset, or a function of the filters that picks one."""
    problems = []
    data = None
    refused_filters = form.is_bound and not form.is_valid()
    if refused_filters:
        problems.append("Les filtres contiennent des erreurs : la liste n'est pas filtrée.")
    elif form.is_bound:
        data = form.cleaned_data
    queryset = rows(data)
    if callable(order):
        order = order(data)
    cursor = request.GET.get("cursor") if not problems else None
    try:
        page = pagination.paginate(queryset, order, cursor)
    except pagination.InvalidCursor as error:
        problems.append(error.message)
        page = pagination.paginate(queryset, order, None)
    singular, plural, feminine = noun
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "page": page,
            "caption": pagination.count_label(page.count, singular, plural, feminine=feminine),
            # The pages of a list shown unfiltered are those of the unfiltered list.
            "query": "" if refused_filters else pagination.page_query(request),
            "problems": problems,
        },
        status=400 if problems else 200,
    )


def creatable_territories(user):
    return (
        territories_for_user(user)
        .filter(
            intercommunalities__organisation__memberships__user=user,
            intercommunalities__organisation__memberships__role=Role.EPCI_AGENT,
        )
        .distinct()
    )


# The territories of the lists' filters, compiled once (see cases.kernel.compiled): with whether
# the user may start a contract or a request on one, and without.
SCOPE = UserQuery(lambda user: lists.territory_rows(territories_for_user(user)))
CREATABLE_SCOPE = UserQuery(
    lambda user: lists.territory_rows(territories_for_user(user), creatable_territories(user))
)


def needs_confirmation(request, case, form) -> bool:
    """Irreversible transitions wait for ``confirm=1``; those the service would refuse anyway
    (not allowed now, comment missing) go straight to it, so that it says why."""
    name, comment = form.cleaned_data["transition"], form.cleaned_data["comment"].strip()
    if name not in CONFIRM_FIRST or request.POST.get("confirm") == "1":
        return False
    if name in services.COMMENT_REQUIRED and not comment:
        return False
    return name in services.available_transitions(case, request.user)


class ConfirmationCancelled(Exception):
    """« Annuler » posted from the confirmation page: back to the case, the comment kept."""

    def __init__(self, form):
        super().__init__()
        self.form = form


def decide(request, case):
    """Run the transition the posted decision form asks for, through its service."""
    form = forms.TransitionForm(request.POST, auto_id=TRANSITION_ID)
    if request.POST.get("cancel") == "1":
        raise ConfirmationCancelled(form)
    if not form.is_valid():
        raise FormRefused(form, "Formulaire incomplet ou invalide : rien n'a été enregistré.")
    service = services.TRANSITION_SERVICES.get(form.cleaned_data["transition"])
    if service is None:
        raise services.ActionNotPossible("Action inconnue.")
    if needs_confirmation(request, case, form):
        raise ConfirmationNeeded(form)
    kwargs = {"case": case, "actor": request.user, "expected_version": form.cleaned_data["version"]}
    if service is not services.case_submit:
        kwargs["comment"] = form.cleaned_data["comment"]
    return service(**kwargs)


def decision_response(request, case):
    """A decision posted from a case's page: asked first when irreversible, refused with the
    page shown again (fresh, the decision form bound), or done."""
    back = case_url(case)
    try:
        updated = decide(request, case)
    except ConfirmationNeeded as ask:
        return confirm_transition(request, case, ask, back)
    except ConfirmationCancelled as cancelled:
        return case_page(request, case, status=200, transition_form=cancelled.form)
    except services.CaseActionError as error:
        return refused(
            request,
            error,
            lambda error: case_page(
                request,
                case,
                status=error.status,
                transition_form=transition_form_for(request, error),
            ),
        )
    return decided(request, updated, back)


def decided(request, updated, back: str):
    if wants_json(request):
        return JsonResponse(
            {"reference": updated.reference, "state": updated.state, "version": updated.version}
        )
    messages.success(request, f"C'est fait : le dossier est maintenant « {updated.state_label} ».")
    return redirect(back)


@login_required
@require_POST
def comment_create(request, reference: str):
    contract = case_or_404(request, reference)
    back = case_url(contract) + "#commentaires"
    form = forms.CommentForm(request.POST)
    try:
        if not form.is_valid():
            raise FormRefused(form, "Le commentaire est vide, trop long ou invalide.")
        services.comment_add(
            case=contract,
            actor=request.user,
            body=form.cleaned_data["body"],
            private=form.cleaned_data["private"],
        )
    except services.CaseActionError as error:
        return refused(
            request,
            error,
            lambda error: case_page(
                request, contract, status=error.status, comment_form=apply_error(form, error)
            ),
        )
    messages.success(request, "Commentaire publié.")
    return redirect(back)


@login_required
@require_POST
@csrf_exempt
def document_upload(request, reference: str):
    """The permission is checked before the body is read (CsrfViewMiddleware would parse it,
    files included), so that someone who may only see the case cannot fill the disk."""
    contract = case_or_404(request, reference)
    back = case_url(contract) + "#documents"
    if not perms.can_upload(request.user, contract):
        forbidden = services.ActionForbidden("Vous ne pouvez pas ajouter de document à ce dossier.")
        return refuse(request, forbidden, back)
    return _document_upload(request, contract, back)


@csrf_protect
def _document_upload(request, contract, back: str):
    form = forms.DocumentForm(request.POST, request.FILES)
    if uploads.refused(request):
        return refuse(request, services.InvalidInput(uploads.too_big_message()), back)
    if not form.is_valid():
        return refuse(request, services.InvalidInput("Choisissez un fichier à envoyer."), back)
    try:
        document = services.document_add(
            case=contract, actor=request.user, upload=form.cleaned_data["file"]
        )
    except services.CaseActionError as error:
        return refuse(request, error, back)
    messages.success(request, f"Document « {document.original_name} » ajouté.")
    return redirect(back)


@login_required
def document_download(request, pk: int):
    document = get_object_or_404(selectors.document_for_user(request.user, pk))
    return documents.download_response(document)

"""Pages of the territory contracts. Every lookup goes through a selector scoped to the user,
and every change through ``cases.services``."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.scoping import territories_for_user
from cases import commitments, forms, lists, pagination, selectors, services, uploads
from cases import permissions as perms
from cases.compiled import UserQuery
from cases.french import date_fr, euros
from cases.models import FUNDER_LABELS, ActionSheet, FinancingLine

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


def case_url(case) -> str:
    return case.get_absolute_url()


def case_page(request, case, *, status: int, **bound):
    """The page of any case kind, with the refused forms shown again."""
    if case.kind == "derogation":
        from cases.derogation_views import derogation_page, request_or_404

        return derogation_page(
            request, request_or_404(request, case.reference), status=status, **bound
        )
    return contract_page(request, contract_or_404(request, case.reference), status=status, **bound)


def case_or_404(request, reference: str):
    """Any case kind the user may see; comments and documents work alike on all of them."""
    return get_object_or_404(selectors.cases_for_user(request.user), reference=reference)


def contract_or_404(request, reference: str):
    visible = selectors.contracts_for_user(request.user).select_related("updated_by")
    return get_object_or_404(visible, reference=reference)


@login_required
def contract_list(request):
    regions, territory_choices, can_create = lists.scope_choices(CREATABLE_SCOPE.rows(request.user))
    form = forms.ContractFilterForm(
        request.GET or None,
        regions=regions,
        territories=territory_choices,
        waves=lists.wave_choices(request.user),
    )
    return list_page(
        request,
        form,
        lambda data: lists.contract_list(request.user, data),
        lists.case_order,
        "cases/contract_list.html",
        {"title": "Contrats de territoire", "can_create": can_create},
        noun=("contrat", None, False),
    )


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


# The territories of the lists' filters, compiled once (see cases.compiled): with whether
# the user may start a contract or a request on one, and without.
SCOPE = UserQuery(lambda user: lists.territory_rows(territories_for_user(user)))
CREATABLE_SCOPE = UserQuery(
    lambda user: lists.territory_rows(territories_for_user(user), creatable_territories(user))
)


@login_required
def contract_create(request):
    territories = creatable_territories(request.user).order_by("name")
    form = forms.ContractCreateForm(request.POST or None, territories=territories)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_create(
                territory=data["territory"],
                actor=request.user,
                **{name: data[name] for name in services.CONTRACT_FIELDS},
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, f"Contrat {contract.reference} créé.")
            return redirect("contract-detail", contract.reference)
    if not territories.exists():
        messages.info(request, "Seuls les agents d'une intercommunalité peuvent créer un contrat.")
    return render(
        request,
        "cases/contract_form.html",
        {"title": "Nouveau contrat de territoire", "form": form, "contract": None},
        status=form_status(form, status),
    )


@login_required
def contract_detail(request, reference: str):
    return contract_page(request, contract_or_404(request, reference))


def contract_page(request, contract, *, status: int = 200, **bound):
    """The contract's page; ``bound`` are the refused forms shown again with their errors."""
    user = request.user
    reviewer = perms.is_reviewing_institution(user, contract)
    actions = selectors.actions_of(contract)
    events = list(selectors.events_for_user(user, contract))
    answerable = perms.answerable_funders(user, contract)
    # Evaluated here, the queryset keeps its rows (and their prefetched lines) for the page.
    awaiting = [
        line
        for action in (actions if answerable else [])
        for line in action.financings.all()
        if line.funder in answerable and line.status == FinancingLine.Status.REQUESTED
    ]
    return render(
        request,
        "cases/contract_detail.html",
        {
            "title": f"{contract.reference} — {contract.title or 'contrat sans intitulé'}",
            "contract": contract,
            "actions": actions,
            "totals": selectors.contract_totals(actions),
            "transitions": transition_choices(contract, user),
            "blocked": services.blocked_transitions(contract, user),
            "changes_requested": changes_requested(contract, events),
            "can_edit": perms.can_edit(user, contract),
            "can_comment": perms.can_comment(user, contract),
            "can_write_private": reviewer,
            "can_upload": perms.can_upload(user, contract),
            # The funders whose lines this user answers here (a link on each such line).
            "answerable": answerable,
            "awaiting_answer": awaiting,
            "comments": selectors.comments_for_user(user, contract),
            "documents": selectors.documents_for_user(user, contract),
            "events": events,
            "comment_form": forms.CommentForm(),
            "document_form": forms.DocumentForm(),
            "transition_form": forms.TransitionForm(auto_id=TRANSITION_ID),
            **bound,
        },
        status=status,
    )


@login_required
def contract_edit(request, reference: str):
    contract = contract_or_404(request, reference)
    if not perms.can_edit(request.user, contract):
        messages.error(request, "Ce contrat n'est pas modifiable par vous dans son état actuel.")
        return redirect("contract-detail", reference)
    form = forms.ContractForm(
        request.POST or None, instance=contract, initial={"version": contract.version}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.CONTRACT_FIELDS}
        try:
            services.contract_update(
                case=contract,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                changes=changes,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, "Contrat enregistré.")
            return redirect("contract-detail", reference)
    return render(
        request,
        "cases/contract_form.html",
        {"title": f"Modifier {contract.reference}", "form": form, "contract": contract},
        status=form_status(form, status),
    )


@login_required
def action_edit(request, reference: str, action_id: int | None = None):
    contract = contract_or_404(request, reference)
    action = get_object_or_404(ActionSheet, pk=action_id, contract=contract) if action_id else None
    if not perms.can_edit(request.user, contract):
        messages.error(request, "Ce contrat n'est pas modifiable par vous dans son état actuel.")
        return redirect("contract-detail", reference)
    lines = list(action.financings.all()) if action else []
    initial_lines = forms.initial_financings(lines)
    adding_line = request.method == "POST" and "add_line" in request.POST
    if adding_line:
        # « Ajouter un financement » without JavaScript: shown back with one more line, unsaved.
        form = forms.ActionForm(
            instance=action, initial=forms.posted_initial(forms.ActionForm, request.POST)
        )
        formset = forms.financing_formset_plus_one(request.POST, prefix="fin")
    else:
        form = forms.ActionForm(
            request.POST or None, instance=action, initial={"version": contract.version}
        )
        formset = forms.FinancingFormSet(request.POST or None, initial=initial_lines, prefix="fin")
    forms.attach_answers(formset, lines)
    status = 200
    saving = request.method == "POST" and not adding_line
    if saving and not (form.is_valid() & formset.is_valid()):
        status = 400  # both validated, so that every error shows at once
    elif saving:
        rows = forms.financing_rows(formset)
        reset = services.answers_reset(lines, rows)
        try:
            services.action_save(
                case=contract,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                fields={name: form.cleaned_data[name] for name in services.ACTION_FIELDS},
                financings=rows,
                action_id=action.pk if action else None,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, "Fiche-action enregistrée.")
            if reset:
                names = ", ".join(FUNDER_LABELS.get(line.funder, line.funder) for line in reset)
                messages.warning(
                    request,
                    f"Réponse de financeur remise à « Demandé » ({names})\u00a0: la ligne a "
                    "changé de financeur ou de montant, son financeur doit répondre à nouveau.",
                )
            return redirect("contract-detail", reference)
    return render(
        request,
        "cases/action_form.html",
        {
            "title": "Modifier la fiche-action" if action else "Nouvelle fiche-action",
            "contract": contract,
            "action": action,
            "form": form,
            "formset": formset,
        },
        status=status,
    )


@login_required
@require_POST
def action_delete(request, reference: str, action_id: int):
    contract = contract_or_404(request, reference)
    form = forms.VersionedForm(request.POST)
    back = reverse("contract-detail", args=[reference])
    if not form.is_valid():
        return refuse(request, services.InvalidInput("Formulaire incomplet."), back)
    action = contract.actions.filter(pk=action_id).first()
    if request.POST.get("confirm") != "1" and action and perms.can_edit(request.user, contract):
        return confirm_page(
            request,
            title=f"Supprimer la fiche-action « {action.title} » ?",
            detail="Ses lignes de financement sont supprimées avec elle.",
            hidden={"version": form.cleaned_data["version"]},
            back=back,
        )
    try:
        services.action_delete(
            case=contract,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            action_id=action_id,
        )
    except services.CaseActionError as error:
        if wants_json(request):
            return refusal_json(error)
        messages.error(request, error.text)
        return contract_page(request, contract_or_404(request, reference), status=error.status)
    messages.success(request, "Fiche-action supprimée.")
    return redirect(back)


def line_or_404(request, reference: str, line_id: int):
    """A financing line of a contract the user may see: its page is read by every reader of
    the contract, and answered by its funder only."""
    contract = contract_or_404(request, reference)
    line = get_object_or_404(
        FinancingLine.objects.select_related("action", "answered_by"),
        pk=line_id,
        action__contract=contract,
    )
    return contract, line


def answer_initial(contract, line) -> dict:
    """The answer form starts from the answer given, else from what was asked, today."""
    committed = line.status == FinancingLine.Status.COMMITTED
    return {
        "version": contract.version,
        "amount": line.committed_amount if committed else line.amount,
        "committed_on": line.committed_on or timezone.localdate(),
        "note": line.note,
    }


@login_required
def financing_answer(request, reference: str, line_id: int):
    """A funder commits, adjusts or declines one of its lines; declining asks first."""
    contract, line = line_or_404(request, reference, line_id)
    user = request.user
    refusal = commitments.answer_refusal(user, contract, line)
    form = forms.FinancingAnswerForm(request.POST or None, initial=answer_initial(contract, line))
    status = 200
    if request.method == "POST":
        try:
            if refusal is not None:
                raise refusal
            if not form.is_valid():
                raise FormRefused(form)
            data = form.cleaned_data
            if data["decision"] == "decline":
                if request.POST.get("confirm") != "1":
                    return confirm_decline(request, contract, line, data)
                commitments.financing_decline(
                    line=line, actor=user, note=data["note"], expected_version=data["version"]
                )
                done = "Financement décliné. L'intercommunalité et la Région en sont informées."
            else:
                commitments.financing_commit(
                    line=line,
                    actor=user,
                    amount=data["amount"],
                    committed_on=data["committed_on"],
                    note=data["note"],
                    expected_version=data["version"],
                )
                done = "Financement engagé. L'intercommunalité et la Région en sont informées."
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            if wants_json(request):
                line.refresh_from_db()
                return JsonResponse({"line": line.pk, "status": line.status})
            messages.success(request, done)
            return redirect(reverse("contract-detail", args=[reference]) + "#actions")
    return render(
        request,
        "cases/commitment.html",
        {
            "title": f"Financement de {line.get_funder_display()} — {contract.reference}",
            "contract": contract,
            "line": line,
            "form": form if refusal is None else None,
            "refusal": refusal,
        },
        status=status,
    )


def confirm_decline(request, contract, line, data: dict):
    title = (
        f"Décliner le financement de {line.get_funder_display()} "
        f"({euros(line.amount)}) pour « {line.action.title} » ?"
    )
    if wants_json(request):
        return JsonResponse(
            {"error": f"{title} Envoyez confirm=1 pour confirmer.", "confirm_required": True},
            status=400,
        )
    detail = "L'intercommunalité et la Région pilote en seront informées."
    if line.status == FinancingLine.Status.COMMITTED:
        detail = (
            f"Votre engagement de {euros(line.committed_amount)} du "
            f"{date_fr(line.committed_on)} sera retiré. {detail}"
        )
    return render(
        request,
        "cases/commitment_confirm.html",
        {
            "title": title,
            "detail": detail,
            "contract": contract,
            "line": line,
            "hidden": {"version": data["version"], "decision": "decline", "note": data["note"]},
            "back": reverse("financing-answer", args=[contract.reference, line.pk]),
        },
    )


@login_required
@require_POST
def contract_transition(request, reference: str):
    contract = contract_or_404(request, reference)
    back = reverse("contract-detail", args=[reference])
    try:
        updated = decide(request, contract)
    except ConfirmationNeeded as ask:
        return confirm_transition(request, contract, ask, back)
    except services.CaseActionError as error:
        return refused(
            request,
            error,
            lambda error: contract_page(
                request,
                contract_or_404(request, reference),
                status=error.status,
                transition_form=transition_form_for(request, error),
            ),
        )
    return decided(request, updated, back)


def needs_confirmation(request, case, form) -> bool:
    """Irreversible transitions wait for ``confirm=1``; those the service would refuse anyway
    (not allowed now, comment missing) go straight to it, so that it says why."""
    name, comment = form.cleaned_data["transition"], form.cleaned_data["comment"].strip()
    if name not in CONFIRM_FIRST or request.POST.get("confirm") == "1":
        return False
    if name in services.COMMENT_REQUIRED and not comment:
        return False
    return name in services.available_transitions(case, request.user)


def decide(request, case):
    """Run the transition the posted decision form asks for, through its service."""
    form = forms.TransitionForm(request.POST, auto_id=TRANSITION_ID)
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
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def action_list(request):
    """The fiches-actions of the contracts the user may see, filtered the way the dashboard
    counts them, so that each of its figures opens the rows that make it up."""
    regions, _, _ = lists.scope_choices(SCOPE.rows(request.user))
    form = forms.ActionFilterForm(
        request.GET or None, regions=regions, waves=lists.wave_choices(request.user)
    )
    return list_page(
        request,
        form,
        lambda data: lists.action_list(request.user, data),
        lists.ACTION_ORDER,
        "cases/action_list.html",
        {"title": "Fiches-actions"},
        noun=("fiche-action", "fiches-actions", True),
    )

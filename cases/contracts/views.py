"""Pages of the territory contracts. Every lookup goes through a selector scoped to the user,
and every change through a service (``cases.contracts.services``, ``cases.kernel.services``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.contracts import commitments
from cases.contracts import forms as contract_forms
from cases.contracts import lists as contract_lists
from cases.contracts import selectors as contract_selectors
from cases.contracts import services as contract_services
from cases.contracts.amendment_views import signing_context
from cases.contracts.models import FUNDER_LABELS, ActionSheet, FinancingLine
from cases.kernel import forms, lists, selectors, services
from cases.kernel import permissions as perms
from cases.kernel.french import date_fr, euros
from cases.kernel.views import (
    CREATABLE_SCOPE,
    KIND_PAGES,
    SCOPE,
    FormRefused,
    apply_error,
    case_page_parts,
    confirm_page,
    creatable_territories,
    decision_response,
    edit_refusal,
    form_status,
    list_page,
    refusal_json,
    refuse,
    refuse_edit,
    resend_merged,
    wants_json,
)

NOT_EDITABLE = "Ce contrat n'est pas modifiable par vous dans son état actuel."


def contract_or_404(request, reference: str):
    visible = contract_selectors.contracts_for_user(request.user).select_related("updated_by")
    return get_object_or_404(visible, reference=reference)


@login_required
def contract_list(request):
    regions, territory_choices, can_create = lists.scope_choices(CREATABLE_SCOPE.rows(request.user))
    form = contract_forms.ContractFilterForm(
        request.GET or None,
        regions=regions,
        territories=territory_choices,
        waves=contract_lists.wave_choices(request.user),
    )
    return list_page(
        request,
        form,
        lambda data: contract_lists.contract_list(request.user, data),
        lists.case_order,
        "cases/contract_list.html",
        {"title": "Contrats de territoire", "can_create": can_create},
        noun=("contrat", None, False),
    )


@login_required
def contract_create(request):
    territories = creatable_territories(request.user).order_by("name")
    form = contract_forms.ContractCreateForm(request.POST or None, territories=territories)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = contract_services.contract_create(
                territory=data["territory"],
                actor=request.user,
                **{name: data[name] for name in contract_services.CONTRACT_FIELDS},
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
    actions = contract_selectors.actions_of(contract)
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
            "totals": contract_selectors.contract_totals(actions),
            **case_page_parts(user, contract, events),
            # The funders whose lines this user answers here (a link on each such line).
            "answerable": answerable,
            "awaiting_answer": awaiting,
            **signing_context(user, contract),
            **bound,
        },
        status=status,
    )


KIND_PAGES["contract"] = lambda request, reference, **bound: contract_page(
    request, contract_or_404(request, reference), **bound
)


@login_required
def contract_edit(request, reference: str):
    contract = contract_or_404(request, reference)
    refusal = edit_refusal(request.user, contract, NOT_EDITABLE)
    if refusal is not None and request.method != "POST":
        messages.error(request, refusal.message)
        return redirect("contract-detail", reference)
    form = contract_forms.ContractForm(
        request.POST or None, instance=contract, initial={"version": contract.version}
    )
    status = 200
    if request.method == "POST" and refusal is not None:
        status = refuse_edit(form, refusal)
    elif request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in contract_services.CONTRACT_FIELDS}
        try:
            contract_services.contract_update(
                case=contract,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                changes=changes,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            if isinstance(error, services.StaleCase):
                current = type(contract)._default_manager.get(pk=contract.pk)
                form, status = resend_merged(form, error, current)
            else:
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
    refusal = edit_refusal(request.user, contract, NOT_EDITABLE)
    if refusal is not None and request.method != "POST":
        messages.error(request, refusal.message)
        return redirect("contract-detail", reference)
    lines = list(action.financings.all()) if action else []
    initial_lines = contract_forms.initial_financings(lines)
    adding_line = request.method == "POST" and "add_line" in request.POST
    if adding_line:
        # « Ajouter un financement » without JavaScript: shown back with one more line, unsaved.
        form = contract_forms.ActionForm(
            instance=action, initial=forms.posted_initial(contract_forms.ActionForm, request.POST)
        )
        formset = contract_forms.financing_formset_plus_one(request.POST, prefix="fin")
    else:
        form = contract_forms.ActionForm(
            request.POST or None, instance=action, initial={"version": contract.version}
        )
        formset = contract_forms.FinancingFormSet(
            request.POST or None, initial=initial_lines, prefix="fin"
        )
    contract_forms.attach_answers(formset, lines)
    status = 200
    saving = request.method == "POST" and not adding_line
    if saving and refusal is not None:
        formset.is_valid()
        status = refuse_edit(form, refusal)
    elif saving and not (form.is_valid() & formset.is_valid()):
        status = 400  # both validated, so that every error shows at once
    elif saving:
        rows = contract_forms.financing_rows(formset)
        reset = contract_services.answers_reset(lines, rows)
        try:
            contract_services.action_save(
                case=contract,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                fields={name: form.cleaned_data[name] for name in contract_services.ACTION_FIELDS},
                financings=rows,
                action_id=action.pk if action else None,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            current = ActionSheet.objects.filter(pk=action.pk).first() if action else None
            if isinstance(error, services.StaleCase) and (current or not action):
                form, status = resend_merged(form, error, current)
            else:
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
        contract_services.action_delete(
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
    form = contract_forms.FinancingAnswerForm(
        request.POST or None, initial=answer_initial(contract, line)
    )
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
        except services.StaleCase as stale:
            if wants_json(request):
                return refusal_json(stale)
            status = resend_stale_answer(form, stale)
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
            "returned": returned_answer(request) if refusal is not None else None,
        },
        status=status,
    )


def resend_stale_answer(form, stale: services.StaleCase) -> int:
    """Another party acted on the contract while the answer was being typed (another funder
    answered its own line, most often). The page shows this line as it is now: the answer
    comes back as typed, carrying the contract's current version, so that sending it again
    is a choice made knowing the line's state, without reloading or retyping anything."""
    apply_error(
        form,
        services.StaleCase(
            f"{stale.changed} Votre réponse est reprise ci-dessous, à côté de l'état actuel "
            "de la ligne : vérifiez-la, puis envoyez-la à nouveau."
        ),
    )
    form.data = form.data.copy()
    form.data["version"] = str(stale.current_version)
    return stale.status


def returned_answer(request) -> dict | None:
    """The answer typed on a page that can no longer take it (the contract moved on), to copy."""
    typed = {
        name: request.POST.get(name, "").strip() for name in ("amount", "committed_on", "note")
    }
    if not any(typed.values()):
        return None
    details = [
        f"{label} saisi{'e' if label == 'date' else ''} : {typed[name]}"
        for name, label in (("amount", "montant"), ("committed_on", "date"))
        if typed[name]
    ]
    return {
        "label": f"Votre note ({' ; '.join(details)})" if details else "Votre note",
        "text": typed["note"],
    }


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
    return decision_response(request, contract_or_404(request, reference))


@login_required
def action_list(request):
    """The fiches-actions of the contracts the user may see, filtered the way the dashboard
    counts them, so that each of its figures opens the rows that make it up."""
    regions, _, _ = lists.scope_choices(SCOPE.rows(request.user))
    form = contract_forms.ActionFilterForm(
        request.GET or None, regions=regions, waves=contract_lists.wave_choices(request.user)
    )
    return list_page(
        request,
        form,
        lambda data: contract_lists.action_list(request.user, data),
        contract_lists.ACTION_ORDER,
        "cases/action_list.html",
        {"title": "Fiches-actions"},
        noun=("fiche-action", "fiches-actions", True),
    )

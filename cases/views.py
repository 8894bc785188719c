"""Pages of the territory contracts. Every lookup goes through a selector scoped to the user,
and every change through ``cases.services``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.scoping import territories_for_user
from cases import forms, selectors, services, uploads
from cases import permissions as perms
from cases.models import ActionSheet
from territories.models import Region

PAGE_SIZE = 20


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def refuse(request, error: services.CaseActionError, back: str):
    """Tell the user why nothing happened: JSON with the HTTP status, or a message on the page."""
    if wants_json(request):
        return JsonResponse(
            {"error": error.message, "problems": error.problems}, status=error.status
        )
    messages.error(request, " ".join([error.message, *error.problems]))
    return redirect(back)


def transition_choices(case, user) -> list[tuple[str, str, bool]]:
    """The decision buttons: exactly the transitions this user may take now."""
    return [
        (name, services.TRANSITION_LABELS[name], name in services.COMMENT_REQUIRED)
        for name in services.available_transitions(case, user)
    ]


CASE_PAGES = {"contract": "contract-detail", "derogation": "derogation-detail"}


def case_url(case) -> str:
    return reverse(CASE_PAGES[case.kind], args=[case.reference])


def case_or_404(request, reference: str):
    """Any case kind the user may see; comments and documents work alike on all of them."""
    return get_object_or_404(selectors.cases_for_user(request.user), reference=reference)


def contract_or_404(request, reference: str):
    return get_object_or_404(selectors.contracts_for_user(request.user), reference=reference)


@login_required
def contract_list(request):
    visible = selectors.contracts_for_user(request.user)
    territories = territories_for_user(request.user)
    form = forms.ContractFilterForm(
        request.GET or None,
        regions=Region.objects.filter(piloted_territories__in=territories).distinct(),
        territories=territories.order_by("name"),
    )
    contracts = visible.annotate(action_count=Count("actions")).order_by("-updated_at", "-pk")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            contracts = contracts.filter(
                Q(title__icontains=data["q"])
                | Q(reference__icontains=data["q"])
                | Q(territory__name__icontains=data["q"])
            )
        if data["state"]:
            contracts = contracts.filter(state=data["state"])
        if data["region"]:
            contracts = contracts.filter(territory__pilot_region=data["region"])
        if data["territory"]:
            contracts = contracts.filter(territory=data["territory"])
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/contract_list.html",
        {
            "title": "Contrats de territoire",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_create": creatable_territories(request.user).exists(),
        },
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


@login_required
def contract_create(request):
    territories = creatable_territories(request.user).order_by("name")
    form = forms.ContractCreateForm(request.POST or None, territories=territories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_create(
                territory=data["territory"],
                actor=request.user,
                **{name: data[name] for name in services.CONTRACT_FIELDS},
            )
        except services.CaseActionError as error:
            form.add_error(None, " ".join([error.message, *error.problems]))
        else:
            messages.success(request, f"Contrat {contract.reference} créé.")
            return redirect("contract-detail", contract.reference)
    if not territories.exists():
        messages.info(request, "Seuls les agents d'une intercommunalité peuvent créer un contrat.")
    return render(
        request,
        "cases/contract_form.html",
        {"title": "Nouveau contrat de territoire", "form": form, "contract": None},
    )


@login_required
def contract_detail(request, reference: str):
    contract = contract_or_404(request, reference)
    user = request.user
    reviewer = perms.is_reviewing_institution(user, contract)
    return render(
        request,
        "cases/contract_detail.html",
        {
            "title": f"{contract.reference} — {contract.title or 'contrat sans intitulé'}",
            "contract": contract,
            "actions": selectors.actions_of(contract),
            "totals": selectors.contract_totals(contract),
            "transitions": transition_choices(contract, user),
            "blocked": services.blocked_transitions(contract, user),
            "can_edit": perms.can_edit(user, contract),
            "can_comment": perms.can_comment(user, contract),
            "can_write_private": reviewer,
            "can_upload": perms.can_upload(user, contract),
            "comments": selectors.comments_for_user(user, contract),
            "documents": selectors.documents_for_user(user, contract),
            "events": selectors.events_for_user(user, contract),
            "comment_form": forms.CommentForm(),
            "document_form": forms.DocumentForm(),
        },
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
                return refuse(request, error, reverse("contract-detail", args=[reference]))
            form.add_error(None, " ".join([error.message, *error.problems]))
            status = error.status
        else:
            messages.success(request, "Contrat enregistré.")
            return redirect("contract-detail", reference)
    return render(
        request,
        "cases/contract_form.html",
        {"title": f"Modifier {contract.reference}", "form": form, "contract": contract},
        status=status,
    )


@login_required
def action_edit(request, reference: str, action_id: int | None = None):
    contract = contract_or_404(request, reference)
    action = get_object_or_404(ActionSheet, pk=action_id, contract=contract) if action_id else None
    if not perms.can_edit(request.user, contract):
        messages.error(request, "Ce contrat n'est pas modifiable par vous dans son état actuel.")
        return redirect("contract-detail", reference)
    initial_lines = (
        [
            {"funder": f.funder, "amount": f.amount, "status": f.status}
            for f in action.financings.all()
        ]
        if action
        else []
    )
    form = forms.ActionForm(
        request.POST or None, instance=action, initial={"version": contract.version}
    )
    formset = forms.FinancingFormSet(request.POST or None, initial=initial_lines, prefix="fin")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.action_save(
                case=contract,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                fields={name: form.cleaned_data[name] for name in services.ACTION_FIELDS},
                financings=forms.financing_rows(formset),
                action_id=action.pk if action else None,
            )
        except services.CaseActionError as error:
            form.add_error(None, " ".join([error.message, *error.problems]))
        else:
            messages.success(request, "Fiche-action enregistrée.")
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
    )


@login_required
@require_POST
def action_delete(request, reference: str, action_id: int):
    contract = contract_or_404(request, reference)
    form = forms.VersionedForm(request.POST)
    back = reverse("contract-detail", args=[reference])
    if not form.is_valid():
        return refuse(request, services.InvalidInput("Formulaire incomplet."), back)
    try:
        services.action_delete(
            case=contract,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            action_id=action_id,
        )
    except services.CaseActionError as error:
        return refuse(request, error, back)
    messages.success(request, "Fiche-action supprimée.")
    return redirect(back)


@login_required
@require_POST
def contract_transition(request, reference: str):
    contract = contract_or_404(request, reference)
    back = reverse("contract-detail", args=[reference])
    try:
        updated = decide(request, contract)
    except services.CaseActionError as error:
        return refuse(request, error, back)
    return decided(request, updated, back)


def decide(request, case):
    """Run the transition the posted decision form asks for, through its service."""
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        raise services.InvalidInput("Formulaire incomplet : rechargez la page.")
    service = services.TRANSITION_SERVICES.get(form.cleaned_data["transition"])
    if service is None:
        raise services.ActionNotPossible("Action inconnue.")
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
    if not form.is_valid():
        return refuse(request, services.InvalidInput("Le commentaire est vide ou trop long."), back)
    try:
        services.comment_add(
            case=contract,
            actor=request.user,
            body=form.cleaned_data["body"],
            private=form.cleaned_data["private"],
        )
    except services.CaseActionError as error:
        return refuse(request, error, back)
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

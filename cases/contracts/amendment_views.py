"""Pages of a contract's versions, its signatures and its avenants. Lookups go through the
user's selectors, changes through ``cases.contracts.signing`` and ``amendments``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.contracts import amendments, signing, versions
from cases.contracts import forms as contract_forms
from cases.contracts import selectors as contract_selectors
from cases.contracts.models import ContractAmendment, Signature, TerritoryContract
from cases.contracts.services import ACTION_FIELDS
from cases.kernel import forms, selectors, services
from cases.kernel import permissions as perms
from cases.kernel.models import Case
from cases.kernel.views import (
    KIND_PAGES,
    apply_error,
    case_page_parts,
    confirm_page,
    decision_response,
    edit_refusal,
    form_status,
    refusal_json,
    refuse,
    refuse_edit,
    resend_merged,
    wants_json,
)

NOT_EDITABLE = "Cet avenant n'est pas modifiable par vous dans son état actuel."


def contract_or_404(request, reference: str) -> TerritoryContract:
    return get_object_or_404(
        contract_selectors.contracts_for_user(request.user), reference=reference
    )


def amendment_or_404(request, reference: str) -> ContractAmendment:
    return get_object_or_404(
        contract_selectors.amendments_for_user(request.user).select_related(
            "parent__territory__pilot_region"
        ),
        reference=reference,
    )


def signing_context(user, contract: TerritoryContract) -> dict:
    """The contract page's part on its versions, signatures and avenants: nothing to read
    before its wave contractualised it."""
    if not contract.version_number:
        return {}  # before its wave; one from before versions gets them from a command
    signatures = signing.current_signatures(contract)
    for signature in signatures:
        signature.contract = contract
    open_refusal = amendments.open_refusal(contract)
    return {
        "signatures": signatures,
        "signable": {s.pk for s in signatures if signing.can_sign(user, s, contract)},
        "missing_signatures": signing.missing(signatures),
        "is_signed": not signing.missing(signatures),
        "contract_versions": list(contract.versions.select_related("amendment")),
        "amendments": list(
            contract_selectors.amendments_for_user(user).filter(parent=contract).order_by("number")
        ),
        "can_open_amendment": open_refusal is None and perms.is_epci_agent_for(user, contract),
        "amendment_refusal": open_refusal,
    }


@login_required
def contract_version(request, reference: str, number: int):
    contract = contract_or_404(request, reference)
    version = get_object_or_404(contract.versions.select_related("amendment"), number=number)
    previous = contract.versions.filter(number=number - 1).first()
    diff = versions.content_diff(previous.content, version.content) if previous else None
    return render(
        request,
        "cases/contract_version.html",
        {
            "title": f"{contract.reference} — version {number}",
            "contract": contract,
            "version": version,
            "content": shown_content(version.content),
            "diff": diff,
            "signatures": signing.version_signatures(contract.pk, number).order_by(
                "party", "label"
            ),
        },
    )


def shown_content(content: dict) -> list[dict]:
    """A content's fiches-actions with their labels, for the templates."""
    return [
        {
            **action,
            "axis_label": versions.AXIS_LABELS.get(action["axis"], action["axis"]),
            "cost": versions.amount(action["total_cost"]),
            "lines": [
                {
                    **line,
                    "label": amendments.funder_label(line["funder"]),
                    "requested": versions.amount(line["amount"]),
                    "committed": versions.amount(line["committed_amount"])
                    if line["committed_amount"]
                    else None,
                }
                for line in action["financings"]
            ],
        }
        for action in content["actions"]
    ]


def signature_or_404(request, reference: str, pk: int) -> tuple[Signature, Case]:
    """A signature of a contract the user may see, or of an avenant the user may see (a new
    partner sees the avenant that brings it in before it has any line in the contract), and
    the case it is recorded on."""
    user = request.user
    visible = Q(contract__in=contract_selectors.contracts_for_user(user).values("pk")) | Q(
        amendment__in=contract_selectors.amendments_for_user(user).values("pk")
    )
    signature = get_object_or_404(
        Signature.objects.filter(visible, contract__reference=reference).select_related(
            "contract__territory__pilot_region", "amendment"
        ),
        pk=pk,
    )
    if signature.amendment is not None:
        return signature, amendment_or_404(request, signature.amendment.reference or "")
    return signature, signature.contract


@login_required
def signature_record(request, reference: str, pk: int):
    signature, case = signature_or_404(request, reference, pk)
    back = case.get_absolute_url() + "#signatures"
    form = contract_forms.SignatureForm(request.POST or None, initial={"version": case.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signing.signature_record(
                signature=signature,
                actor=request.user,
                signer_name=data["signer_name"],
                signer_role=data["signer_role"],
                signed_on=data["signed_on"],
                authority=data["authority"],
                expected_version=data["version"],
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, f"Signature de {signature.label} enregistrée.")
            return redirect(back)
    elif request.method == "GET" and not signing.can_sign(request.user, signature, case):
        problem = signing.refusal(signature, case, request.user)
        messages.error(request, getattr(problem, "message", "Cette signature ne s'enregistre pas."))
        return redirect(back)
    return render(
        request,
        "cases/signature_form.html",
        {
            "title": f"Signature de {signature.label}",
            "signature": signature,
            "case": case,
            "back": back,
            "form": form,
        },
        status=form_status(form, status),
    )


@login_required
def amendment_open(request, reference: str):
    contract = contract_or_404(request, reference)
    back = reverse("contract-detail", args=[reference]) + "#avenants"
    refusal = amendments.open_refusal(contract)
    if request.method == "GET" and refusal:
        # Said before anything is typed, not after.
        messages.error(request, refusal)
        return redirect(back)
    form = contract_forms.AmendmentOpenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            amendment = amendments.amendment_open(
                contract=contract, actor=request.user, purpose=form.cleaned_data["purpose"]
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(
                request, f"Avenant {amendment.reference} ouvert : décrivez ce qu'il change."
            )
            return redirect(amendment.get_absolute_url())
    return render(
        request,
        "cases/amendment_form.html",
        {"title": f"Ouvrir un avenant au contrat {contract.reference}", "form": form, "back": back},
        status=form_status(form, status),
    )


def amendment_page(request, amendment: ContractAmendment, *, status: int = 200, **bound):
    user = request.user
    events = list(selectors.events_for_user(user, amendment))
    diff = amendments.diff_of(amendment)
    signatures = list(amendment.signatures.order_by("party", "label"))
    return render(
        request,
        "cases/amendment_detail.html",
        {
            "title": f"{amendment.reference} — avenant n° {amendment.number} au contrat "
            f"{amendment.parent.reference}",
            "amendment": amendment,
            "contract": amendment.parent,
            "proposal": shown_content(amendment.proposal),
            "diff": diff,
            "required": [] if signatures else amendments.required_parties(amendment, diff),
            "signatures": signatures,
            "signable": {s.pk for s in signatures if signing.can_sign(user, s, amendment)},
            **case_page_parts(user, amendment, events),
            **bound,
        },
        status=status,
    )


KIND_PAGES["amendment"] = lambda request, reference, **bound: amendment_page(
    request, amendment_or_404(request, reference), **bound
)


@login_required
def amendment_detail(request, reference: str):
    return amendment_page(request, amendment_or_404(request, reference))


@login_required
def amendment_edit(request, reference: str):
    amendment = amendment_or_404(request, reference)
    refusal = edit_refusal(request.user, amendment, NOT_EDITABLE)
    if refusal is not None and request.method != "POST":
        messages.error(request, refusal.message)
        return redirect(amendment.get_absolute_url())
    form = contract_forms.AmendmentForm(
        request.POST or None, instance=amendment, initial={"version": amendment.version}
    )
    status = 200
    if request.method == "POST" and refusal is not None:
        status = refuse_edit(form, refusal)
    elif request.method == "POST" and form.is_valid():
        try:
            amendments.amendment_update(
                case=amendment,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                purpose=form.cleaned_data["purpose"],
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            if isinstance(error, services.StaleCase):
                current = ContractAmendment.objects.get(pk=amendment.pk)
                form, status = resend_merged(form, error, current)
            else:
                apply_error(form, error)
                status = error.status
        else:
            messages.success(request, "Avenant enregistré.")
            return redirect(amendment.get_absolute_url())
    return render(
        request,
        "cases/amendment_form.html",
        {
            "title": f"Modifier l'avenant {amendment.reference}",
            "form": form,
            "back": amendment.get_absolute_url(),
        },
        status=form_status(form, status),
    )


def _proposed(amendment: ContractAmendment, key: str | None) -> dict | None:
    if key is None:
        return None
    for action in amendment.proposal["actions"]:
        if action["key"] == key:
            return action
    raise Http404("Cette fiche-action n'est pas dans l'avenant.")


@login_required
def amendment_action_edit(request, reference: str, key: str | None = None):
    amendment = amendment_or_404(request, reference)
    fiche = _proposed(amendment, key)
    refusal = edit_refusal(request.user, amendment, NOT_EDITABLE)
    if refusal is not None and request.method != "POST":
        messages.error(request, refusal.message)
        return redirect(amendment.get_absolute_url())
    initial_lines = [
        {"line": line["line"], "funder": line["funder"], "amount": versions.amount(line["amount"])}
        for line in (fiche["financings"] if fiche else [])
    ]
    initial = {name: fiche[name] for name in ACTION_FIELDS} if fiche else {}
    adding_line = request.method == "POST" and "add_line" in request.POST
    if adding_line:
        form = contract_forms.ActionForm(
            initial=forms.posted_initial(contract_forms.ActionForm, request.POST)
        )
        formset = contract_forms.financing_formset_plus_one(request.POST, prefix="fin")
    else:
        form = contract_forms.ActionForm(
            request.POST or None, initial={**initial, "version": amendment.version}
        )
        formset = contract_forms.FinancingFormSet(
            request.POST or None, initial=initial_lines, prefix="fin"
        )
    status = 200
    saving = request.method == "POST" and not adding_line
    if saving and refusal is not None:
        formset.is_valid()
        status = refuse_edit(form, refusal)
    elif saving and not (form.is_valid() & formset.is_valid()):
        status = 400
    elif saving:
        try:
            amendments.amendment_action_save(
                case=amendment,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                fields={name: form.cleaned_data[name] for name in ACTION_FIELDS},
                financings=contract_forms.financing_rows(formset),
                key=key,
            )
        except services.CaseActionError as error:
            if wants_json(request):
                return refusal_json(error)
            apply_error(form, error)
            status = error.status
        else:
            messages.success(request, "Fiche-action de l'avenant enregistrée.")
            return redirect(amendment.get_absolute_url() + "#proposition")
    return render(
        request,
        "cases/action_form.html",
        {
            "title": "Modifier la fiche-action (avenant)"
            if fiche
            else "Nouvelle fiche-action (avenant)",
            "back_url": amendment.get_absolute_url(),
            "back_label": f"Retour à l'avenant {amendment.reference}",
            "form": form,
            "formset": formset,
        },
        status=status,
    )


@login_required
@require_POST
def amendment_action_delete(request, reference: str, key: str):
    amendment = amendment_or_404(request, reference)
    fiche = _proposed(amendment, key) or {}
    form = forms.VersionedForm(request.POST)
    back = amendment.get_absolute_url() + "#proposition"
    if not form.is_valid():
        return refuse(request, services.InvalidInput("Formulaire incomplet."), back)
    if request.POST.get("confirm") != "1" and perms.can_edit(request.user, amendment):
        return confirm_page(
            request,
            title=f"Retirer la fiche-action « {fiche['title']} » du contrat par cet avenant ?",
            detail="Ses lignes de financement sont retirées avec elle.",
            hidden={"version": form.cleaned_data["version"]},
            back=back,
        )
    try:
        amendments.amendment_action_remove(
            case=amendment,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            key=key,
        )
    except services.CaseActionError as error:
        return refuse(request, error, back)
    messages.success(request, "Fiche-action retirée par l'avenant.")
    return redirect(back)


@login_required
@require_POST
def amendment_transition(request, reference: str):
    return decision_response(request, amendment_or_404(request, reference))

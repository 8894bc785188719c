"""Avenants: opening one on a signed contract, drafting what it changes, and applying it once
the signatories whose commitments it changes have signed.

An avenant's proposal is the contract's content (``cases.contracts.versions``) as the avenant
would leave it; it starts as the current version. Its review cycle is the contract's (the
kernel's runner); at the ministry's sign-off its signatories are written, and the last of
their signatures applies it: the contract's fiches-actions and lines become the proposal,
and the contract gets its next version. Locks: the contract, then its avenant, always.
"""

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from cases.contracts import signing, versions
from cases.contracts.models import (
    FUNDER_LABELS,
    ActionSheet,
    ContractAmendment,
    FinancingLine,
    Party,
    Signature,
    TerritoryContract,
    enacting,
)
from cases.contracts.services import ACTION_FIELDS
from cases.kernel import permissions as perms
from cases.kernel.models import Case, CaseEvent, State
from cases.kernel.services import (
    AFTER_TRANSITION,
    LOCKED_FIRST,
    PROBLEM_FIXES,
    ActionForbidden,
    ActionNotPossible,
    InvalidInput,
    case_page_url,
    check_plain_text,
    check_version,
    clean_instance,
    insert_case,
    lock_case,
    record_event,
    require_editable,
    run_declared_transition,
    touch_case,
)

PURPOSE_MAX = 5_000

PROBLEM_FIXES["amendment"] = [
    ("objet", case_page_url("amendment-edit"), "Indiquer l'objet"),
    ("fiche-action", case_page_url("amendment-action-create"), "Ajouter une fiche-action"),
]


def lock_amendment(pk: int) -> ContractAmendment:
    return lock_case(ContractAmendment(pk=pk))


def _lock_parent(case: Case) -> None:
    """The contract before its avenant, for every transition of the avenant (see the module's
    docstring): its sign-off writes the contract after its listeners took other rows."""
    parent_id = getattr(case, "parent_id", None) or (
        ContractAmendment.objects.values_list("parent_id", flat=True).get(pk=case.pk)
    )
    lock_case(TerritoryContract(pk=parent_id))


LOCKED_FIRST["amendment"] = _lock_parent


def open_refusal(contract: TerritoryContract) -> str | None:
    """Why no avenant may be opened on ``contract`` now, or None."""
    if contract.state in (State.WITHDRAWN, State.REJECTED):
        return f"Le contrat est {contract.state_label.lower()} : il ne peut pas recevoir d'avenant."
    if contract.state != State.CONTRACTUALISED:
        return (
            "Seul un contrat contractualisé reçoit un avenant : celui-ci est à l'état "
            f"« {contract.state_label} »."
        )
    if contract.version_number == 0:
        # Contractualised before versions existed (manage.py make_first_versions makes it).
        return (
            "Ce contrat n'a pas encore de version 1 à signer : demandez à l'administrateur "
            "de la créer, puis faites-la signer avant tout avenant."
        )
    if not signing.is_signed(contract):
        return (
            "Le contrat n'est pas encore signé par tous ses signataires : un avenant "
            "modifie une version signée."
        )
    current = contract.amendments.filter(is_open=True).first()
    if current is not None:
        return f"Ce contrat a déjà un avenant en cours ({current.reference}) : un seul à la fois."
    return None


def _checked_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    check_plain_text(purpose=purpose)
    if len(purpose) > PURPOSE_MAX:
        raise InvalidInput("L'objet dépasse 5 000 caractères.", field="purpose")
    return purpose


def amendment_open(
    *, contract: TerritoryContract, actor: User, purpose: str = ""
) -> ContractAmendment:
    """A new avenant of ``contract``, its proposal the contract's current version."""
    purpose = _checked_purpose(purpose)
    with transaction.atomic():
        parent = lock_case(contract)
        if not perms.is_epci_agent_for(actor, parent):
            raise ActionForbidden(
                "Seuls les agents d'une intercommunalité du territoire ouvrent un avenant."
            )
        problem = open_refusal(parent)
        if problem:
            raise ActionNotPossible(problem)
        base = parent.versions.get(number=parent.version_number)
        proposal = {**base.content, "actions": [_keyed(a) for a in base.content["actions"]]}
        now = timezone.now()
        amendment = ContractAmendment(
            kind=Case.Kind.AMENDMENT,
            territory=parent.territory,
            parent=parent,
            number=parent.amendments.count() + 1,
            base_version=parent.version_number,
            purpose=purpose,
            proposal=proposal,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
        )
        try:
            # The constraint backs the lock: one open avenant per contract, whatever happens.
            with transaction.atomic():
                insert_case(
                    amendment,
                    actor,
                    ["purpose"],
                    now,
                    links={
                        "contract": parent.reference,
                        "base_version": base.number,
                        "base_hash": base.content_hash,
                        "contract_audit_head": parent.audit_head,
                    },
                )
        except IntegrityError as error:
            raise ActionNotPossible(
                "Ce contrat a déjà un avenant en cours : un seul à la fois."
            ) from error
        record_event(
            parent,
            actor,
            fields=[],
            extra={"detail": amendment.reference, "operators": told_parties(amendment)},
            kind=CaseEvent.Kind.EDIT,
            name="amendment_open",
            payload={
                "amendment": amendment.reference,
                "base_version": base.number,
                "amendment_audit_head": amendment.audit_head,
            },
            at=now,
        )
    return amendment


def _keyed(action: dict) -> dict:
    return {**action, "key": str(action["id"])}


def _edit(case: ContractAmendment, actor: User, expected_version: int) -> ContractAmendment:
    locked = lock_case(case)
    check_version(locked, expected_version)
    require_editable(locked, actor)
    return locked


def _save_edit(locked: ContractAmendment, actor: User, fields: list[str], payload: dict) -> None:
    now = timezone.now()
    touch_case(locked, actor, now)
    record_event(
        locked,
        actor,
        fields=[*fields, "version", "updated_at", "updated_by"],
        kind=CaseEvent.Kind.EDIT,
        name="amendment_update",
        payload=payload,
        at=now,
    )


def amendment_update(
    *, case: ContractAmendment, actor: User, expected_version: int, purpose: str
) -> ContractAmendment:
    purpose = _checked_purpose(purpose)
    with transaction.atomic():
        locked = _edit(case, actor, expected_version)
        if locked.purpose == purpose:
            return locked
        before, locked.purpose = locked.purpose, purpose
        _save_edit(locked, actor, ["purpose"], {"changes": {"purpose": [before, purpose]}})
    return locked


def _checked_fields(parent: TerritoryContract, fields: dict) -> dict:
    action = ActionSheet(contract=parent)
    for name in ACTION_FIELDS:
        if name in fields:
            setattr(action, name, fields[name])
    clean_instance(action)
    return {name: versions.plain(getattr(action, name)) for name in ACTION_FIELDS}


def _checked_lines(
    previous: list[dict], financings: list[dict], signed: dict[int, dict]
) -> list[dict]:
    """The proposal's lines from the form's rows: a row naming a line of the fiche-action
    keeps the answer of the version in force (``signed``, by line id) while it asks the same
    funder the same amount: changed and changed back, it is still committed."""
    by_id = {line["line"]: line for line in previous if line.get("line")}
    lines, seen = [], set()
    for row in financings:
        line = FinancingLine(funder=row.get("funder") or "", amount=row.get("amount"))  # type: ignore[misc]
        try:
            line.full_clean(exclude=["action"])
        except ValidationError as error:
            problems = [m for messages in error.message_dict.values() for m in messages]
            raise InvalidInput(
                "Une ligne de financement est invalide :", problems=problems
            ) from error
        content = versions.line_content(line)
        known = by_id.get(row.get("line")) if row.get("line") else None
        if row.get("line") and (known is None or row["line"] in seen):
            raise InvalidInput(
                "Une ligne de financement n'appartient pas à cette fiche-action : "
                "rechargez la page."
            )
        if known is not None:
            seen.add(known["line"])
            content["line"] = known["line"]
            base = signed.get(known["line"])
            if base and (base["funder"], versions.amount(base["amount"])) == (
                line.funder,
                line.amount,
            ):
                content["status"] = base["status"]
                content["committed_amount"] = base["committed_amount"]
        lines.append(content)
    return lines


def _find(proposal: dict, key: str) -> dict:
    for action in proposal["actions"]:
        if action["key"] == key:
            return action
    raise InvalidInput("Cette fiche-action n'est pas dans l'avenant : rechargez la page.")


def amendment_action_save(
    *,
    case: ContractAmendment,
    actor: User,
    expected_version: int,
    fields: dict,
    financings: list[dict],
    key: str | None = None,
) -> dict:
    """Add a fiche-action to the avenant (``key`` None), or change one of its fiches-actions
    (its fields and financing lines), as the contract's fiche-action form does."""
    with transaction.atomic():
        locked = _edit(case, actor, expected_version)
        proposal = locked.proposal
        previous = _find(proposal, key) if key is not None else None
        checked = _checked_fields(locked.parent, fields)
        signed = {
            line["line"]: line
            for action in base_content(locked)["actions"]
            for line in action["financings"]
        }
        lines = _checked_lines(previous["financings"] if previous else [], financings, signed)
        if previous is None:
            proposal["next_key"] = proposal.get("next_key", 0) + 1
            action = {
                "id": None,
                "key": f"new-{proposal['next_key']}",
                **checked,
                "financings": lines,
            }
            proposal["actions"].append(action)
        else:
            action = {**previous, **checked, "financings": lines}
            proposal["actions"] = [action if a["key"] == key else a for a in proposal["actions"]]
        _save_edit(
            locked,
            actor,
            ["proposal"],
            {"action": action["key"], "before": previous, "after": action},
        )
    return action


def amendment_action_remove(
    *, case: ContractAmendment, actor: User, expected_version: int, key: str
) -> None:
    with transaction.atomic():
        locked = _edit(case, actor, expected_version)
        removed = _find(locked.proposal, key)
        locked.proposal["actions"] = [a for a in locked.proposal["actions"] if a["key"] != key]
        _save_edit(locked, actor, ["proposal"], {"action": key, "before": removed, "after": None})


# What an avenant changes, and who signs it.


def base_content(amendment: ContractAmendment) -> dict:
    return amendment.parent.versions.get(number=amendment.base_version).content


def diff_of(amendment: ContractAmendment) -> versions.ContentDiff:
    return versions.content_diff(base_content(amendment), amendment.proposal)


def required_parties(
    amendment: ContractAmendment, diff: versions.ContentDiff | None = None
) -> list[tuple[str, str, str]]:
    """(party, reference, label) of whoever must sign the avenant: the parties whose lines it
    adds, removes or changes the amount of. « Autre » has no account: it signs nothing here.
    ``diff``: the avenant's, when the caller has it already."""
    funders = (diff or diff_of(amendment)).affected_funders
    parent = amendment.parent
    region = parent.territory.pilot_region
    parties: list[tuple[str, str, str]] = []
    if "epci" in funders:
        epcis = signing.epcis_by_territory([parent.territory_id]).get(parent.territory_id, [])
        parties.extend((Party.EPCI, siren, name) for siren, name in epcis)
    if "region" in funders:
        parties.append((Party.REGION, region.code, region.name))
    if "state" in funders:
        parties.append((Party.STATE, "state", signing.STATE_LABEL))
    parties.extend(signing.operator_signatories(funders))
    return parties


def told_parties(amendment: ContractAmendment) -> list[str]:
    """The operators to tell of the avenant (those with a line in the contract before or
    after it); the EPCI, the Region and the ministry are always told."""
    return operators_in(base_content(amendment), amendment.proposal)


def operators_in(*contents: dict) -> list[str]:
    """The operators with a line in any of these contents (a version's, a proposal)."""
    funders = {
        line["funder"]
        for content in contents
        for action in content["actions"]
        for line in action["financings"]
    }
    return sorted(funders & set(perms.OPERATOR_CODES))


def _after_sign_off(locked: Case, actor: User, now: datetime) -> None:
    """At the ministry's sign-off: the avenant's signatories are written, told, and if its
    changes touch nobody's commitments it applies at once."""
    amendment: ContractAmendment = locked  # type: ignore[assignment]
    # Locked already, before the avenant, by the runner (LOCKED_FIRST): read under that lock.
    parent = lock_case(amendment.parent)
    parties = required_parties(amendment)
    signatures = [signing.signatory(parent, amendment.base_version + 1, *p) for p in parties]
    for signature in signatures:
        signature.amendment = amendment
    Signature.objects.bulk_create(signatures)
    record_event(
        amendment,
        actor,
        fields=[],
        extra={
            "operators": told_parties(amendment),
            "detail": ", ".join(p[2] for p in parties) or "aucun",
        },
        kind=CaseEvent.Kind.EDIT,
        name="signature_request",
        payload={
            "signatories": [{"party": p, "party_ref": r, "label": lab} for p, r, lab in parties]
        },
        at=now,
    )
    if not parties:
        enact(amendment, parent, actor, now)


AFTER_TRANSITION[("amendment", "sign_off")] = _after_sign_off


def enact_if_signed(
    amendment: ContractAmendment, parent: TerritoryContract, actor: User, now: datetime
) -> None:
    if not amendment.signatures.filter(signed_on__isnull=True).exists():
        enact(amendment, parent, actor, now)


def _signers(amendment: ContractAmendment) -> dict[str, Signature]:
    """By funder code, the signature that commits that funder's lines."""
    by_funder: dict[str, Signature] = {}
    for signature in amendment.signatures.order_by("signed_on", "pk"):
        funder = signature.party_ref if signature.party == Party.OPERATOR else signature.party
        by_funder[funder] = signature  # the latest, for the EPCI's lines
    return by_funder


def _commit(line: FinancingLine, signer: Signature | None) -> None:
    """A line the avenant adds or changes: committed at its amount by the funder who signed
    it, still asked if its funder signs nothing here (« Autre »)."""
    if signer is None:
        line.status = FinancingLine.Status.REQUESTED
        line.committed_amount = line.committed_on = line.answered_by = line.answered_at = None
        return
    line.status, line.committed_amount = FinancingLine.Status.COMMITTED, line.amount
    line.committed_on, line.answered_by = signer.signed_on, signer.recorded_by
    line.answered_at = signer.recorded_at


def _apply_lines(
    action: ActionSheet, proposed: list[dict], current: dict[int, FinancingLine], signers: dict
) -> None:
    kept = set()
    for row in proposed:
        line = current.get(row.get("line") or 0)
        changed = line is None or (line.funder, line.amount) != (
            row["funder"],
            versions.amount(row["amount"]),
        )
        if line is None:
            line = FinancingLine(action=action)
        else:
            kept.add(line.pk)
        line.funder, line.amount = row["funder"], versions.amount(row["amount"])
        if changed:
            _commit(line, signers.get(line.funder))
        line.save()
    FinancingLine.objects.filter(pk__in=set(current) - kept).delete()


def apply_proposal(
    parent: TerritoryContract, proposal: dict, signers: dict[str, Signature]
) -> None:
    """The contract's fiches-actions and lines become the proposal's."""
    live = {
        action.pk: action for action in signing.actions_with_lines([parent.pk]).get(parent.pk, [])
    }
    kept = set()
    for proposed in proposal["actions"]:
        action = live.get(proposed.get("id") or 0) or ActionSheet(contract=parent)
        for name in ACTION_FIELDS:
            value = proposed[name]
            setattr(action, name, Decimal(value) if name == "total_cost" else value)
        action.save()
        kept.add(action.pk)
        current = {line.pk: line for line in action.financings.all()} if proposed.get("id") else {}
        _apply_lines(action, proposed["financings"], current, signers)
    ActionSheet.objects.filter(pk__in=set(live) - kept).delete()


def enact(
    amendment: ContractAmendment, parent: TerritoryContract, actor: User, now: datetime
) -> None:
    """Apply a signed avenant: the contract's content, its next version, the avenant signed."""
    number = amendment.base_version + 1
    previous = parent.versions.get(number=amendment.base_version)
    apply_proposal(parent, amendment.proposal, _signers(amendment))
    actions = signing.actions_with_lines([parent.pk]).get(parent.pk, [])
    version = signing.new_version(
        parent, number, versions.contract_content(parent, actions), actor, now
    )
    version.amendment = amendment
    version.save()
    with enacting(amendment.pk):
        run_declared_transition(
            case=amendment,
            actor=actor,
            name="enact",
            prepare=lambda _locked: ([], {"version": number, "content_hash": version.content_hash}),
            locked_by_caller=True,
        )
    parent.version_number = number
    touch_case(parent, actor, now)
    record_event(
        parent,
        actor,
        fields=["version_number", "version", "updated_at", "updated_by"],
        # The operators of the new version: one whose every line the avenant took out no
        # longer reads the contract, and is not sent to a page it cannot open.
        extra={"operators": operators_in(amendment.proposal), "detail": f"version {number}"},
        kind=CaseEvent.Kind.EDIT,
        name="new_version",
        payload={
            "version": number,
            "amendment": amendment.reference,
            "amendment_audit_head": amendment.audit_head,
            "content_hash": version.content_hash,
            # What its signatories signed (the proposal), next to what it became.
            "signed_hash": signing.content_hash(amendment.proposal),
            "previous_hash": previous.content_hash,
        },
        at=now,
    )


def funder_label(funder: str) -> str:
    return str(FUNDER_LABELS.get(funder, funder))


def link_break(amendment: ContractAmendment) -> str | None:
    """Why the avenant's chain is not linked to its contract's, or None: as it was opened
    (its first event names the head of the contract's chain at that moment, and the
    contract's next event names the avenant) and, once signed, as it was enacted."""
    return _opening_break(amendment) or _enactment_break(amendment)


def _enactment_break(amendment: ContractAmendment) -> str | None:
    """A signed avenant's version: the contract's ``new_version`` event names the head of
    the avenant's chain at its enactment and the version's hash; the version row is the
    avenant's, with that hash. An avenant's history rewritten whole verifies on its own,
    not against what its contract recorded."""
    parent = amendment.parent
    recorded = parent.events.filter(name="new_version", payload__amendment=amendment.reference)
    event = recorded.first()
    number = (event.payload or {}).get("version") if event else None
    if amendment.state != State.SIGNED:
        # Its state is in no chain: the contract's, which names the versions, decides.
        if event is None:
            return None
        return f"Avenant {amendment} : la version {number} de {parent} le nomme, il n'est pas signé"
    enact = amendment.events.filter(kind=CaseEvent.Kind.TRANSITION, name="enact").first()
    if event is None or enact is None or not isinstance(number, int):
        return f"Avenant {amendment} : sa version manque à la chaîne de {parent}"
    if event.payload.get("amendment_audit_head") != enact.hash:
        return (
            f"Avenant {amendment} : son histoire n'est plus celle que la version {number} "
            f"de {parent} a enregistrée"
        )
    if event.payload.get("signed_hash") != signing.content_hash(amendment.proposal):
        return (
            f"Avenant {amendment} : son contenu proposé n'est plus celui que ses signataires "
            f"ont signé (version {number} de {parent})"
        )
    version = parent.versions.filter(number=number, amendment=amendment).first()
    if version is None or version.content_hash != event.payload.get("content_hash"):
        return (
            f"Avenant {amendment} : la version {number} de {parent} n'est pas celle que "
            "sa chaîne a enregistrée"
        )
    return None


def _opening_break(amendment: ContractAmendment) -> str | None:
    creation = amendment.events.filter(seq=1).first()
    head = (creation.payload or {}).get("contract_audit_head") if creation else None
    opened = (
        amendment.parent.events.filter(
            name="amendment_open", payload__amendment=amendment.reference
        )
        .order_by("seq")
        .first()
    )
    if creation is None or opened is None:
        return f"Avenant {amendment} : son ouverture manque à la chaîne de {amendment.parent}"
    before = amendment.parent.events.filter(seq=opened.seq - 1).values_list("hash", flat=True)
    if head != (before.first() or ""):
        return (
            f"Avenant {amendment} : ne suit pas la chaîne de {amendment.parent} "
            f"(événement n°{opened.seq - 1})"
        )
    return None

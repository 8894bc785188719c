"""Who signs a contract's version, and the signatures themselves.

The signatories of version 1 are derived from the contract when its wave contractualises it:
each EPCI of its territory, its pilot Region, the State (through the prefect) and each
operator with a committed line. An avenant's signatories are those of them whose commitments
it changes (``cases.contracts.amendments``). Each signature is recorded once, by an agent of
its party, and is an audit event on the version it signs.
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.actors import AnyUser, actor_of
from accounts.models import Membership, Role, User
from cases.contracts import versions
from cases.contracts.models import (
    FUNDER_LABELS,
    OPERATOR_FUNDERS,
    ActionSheet,
    ContractVersion,
    FinancingLine,
    Party,
    Signature,
    TerritoryContract,
    in_force,
)
from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.models import Case, CaseEvent, State
from cases.kernel.services import (
    ActionForbidden,
    ActionNotPossible,
    InvalidInput,
    check_plain_text,
    check_version,
    lock_case,
    record_event,
)
from territories.models import TerritoryIntercommunality

STATE_LABEL = "État (préfecture de région)"
PROGRAMME_START = date(2018, 11, 1)
TEXT_MAX = 200
AUTHORITY_MAX = 300


def content_hash(content: dict) -> str:
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def version_break(version: ContractVersion) -> str | None:
    """Why ``version``'s content is no longer what its hash names, or None."""
    if content_hash(version.content) == version.content_hash:
        return None
    return (
        f"Contrat {version.contract} : le contenu de sa version {version.number} ne correspond "
        "plus à son empreinte"
    )


def new_version(
    contract: TerritoryContract, number: int, content: dict, actor: User | None, now: datetime
) -> ContractVersion:
    """An unsaved version of ``content`` (the caller saves it, alone or in bulk)."""
    cost, requested, committed = versions.content_totals(content)
    return ContractVersion(
        contract=contract,
        number=number,
        content=content,
        content_hash=content_hash(content),
        cost_total=cost,
        requested_total=requested,
        committed_total=committed,
        created_at=now,
        created_by=actor,
    )


def signatory(contract: TerritoryContract, version: int, party: str, ref: str, label: str):
    return Signature(contract=contract, version=version, party=party, party_ref=ref, label=label)


def operator_signatories(funders: Iterable[str]) -> list[tuple[str, str, str]]:
    return [
        (str(Party.OPERATOR), funder, str(FUNDER_LABELS[funder]))
        for funder in sorted(set(funders) & OPERATOR_FUNDERS)
    ]


def parties_of(
    contract: TerritoryContract, epcis: list[tuple[str, str]], content: dict
) -> list[tuple[str, str, str]]:
    """(party, reference, label) of every signatory of ``content``: ``epcis`` are the
    territory's EPCI as (SIREN, name)."""
    committed = {
        line["funder"]
        for action in content["actions"]
        for line in action["financings"]
        if line["status"] == FinancingLine.Status.COMMITTED
    }
    region = contract.territory.pilot_region
    return [
        *((Party.EPCI, siren, name) for siren, name in epcis),
        (Party.REGION, region.code, region.name),
        (Party.STATE, "state", STATE_LABEL),
        *operator_signatories(committed),
    ]


def epcis_by_territory(territory_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Each territory's EPCI as (SIREN, name), in one query for them all."""
    epcis: dict[int, list[tuple[str, str]]] = {}
    rows = (
        TerritoryIntercommunality.objects.filter(territory_id__in=set(territory_ids))
        .order_by("intercommunality__name")
        .values_list("territory_id", "intercommunality__siren", "intercommunality__name")
    )
    for territory, siren, name in rows:
        epcis.setdefault(territory, []).append((siren, name))
    return epcis


def actions_with_lines(contract_ids: Iterable[int]) -> dict[int, list[ActionSheet]]:
    actions: dict[int, list[ActionSheet]] = {}
    rows = (
        ActionSheet.objects.filter(contract_id__in=list(contract_ids))
        .prefetch_related(Prefetch("financings", FinancingLine.objects.order_by("pk")))
        .order_by("axis", "pk")
    )
    for action in rows:
        actions.setdefault(action.contract_id, []).append(action)
    return actions


def first_versions(
    contracts: list[TerritoryContract], actor: User | None, now: datetime
) -> dict[int, list[str]]:
    """Version 1 of each contract a wave contractualises, and its signatories to sign it, in
    a few statements for the whole wave (inside the wave's transaction). Returns, by
    contract, the operators among them, who are told of its contractualisation."""
    actions = actions_with_lines(c.pk for c in contracts)
    epcis = epcis_by_territory(c.territory_id for c in contracts)
    rows: list[ContractVersion] = []
    signatures: list[Signature] = []
    operators: dict[int, list[str]] = {}
    for contract in contracts:
        content = versions.contract_content(contract, actions.get(contract.pk, []))
        rows.append(new_version(contract, 1, content, actor, now))
        parties = parties_of(contract, epcis.get(contract.territory_id, []), content)
        signatures.extend(signatory(contract, 1, *party) for party in parties)
        operators[contract.pk] = [ref for party, ref, _ in parties if party == Party.OPERATOR]
    ContractVersion.objects.bulk_create(rows)
    Signature.objects.bulk_create(signatures)
    TerritoryContract.objects.filter(pk__in=[c.pk for c in contracts]).update(version_number=1)
    for contract in contracts:
        contract.version_number = 1
    return operators


# Who may record a signature: an agent of the party that signs.


def speaks_for(user: AnyUser, case: Case, party: str, party_ref: str) -> bool:
    actor = actor_of(user)
    if party == Party.STATE:
        return perms.is_ministry_agent(actor)
    if party == Party.REGION:
        return perms.is_region_reviewer_for(actor, case)
    if party == Party.OPERATOR:
        return perms.is_operator_agent_of(actor, party_ref)
    if party == Party.EPCI:
        key = ("epci_siren", party_ref)
        if key not in actor.memo:
            actor.memo[key] = (
                actor.user_id is not None
                and Membership.objects.filter(
                    user_id=actor.user_id,
                    role=Role.EPCI_AGENT,
                    organisation__intercommunality__siren=party_ref,
                ).exists()
            )
        return actor.memo[key]
    return False


def signable(signature: Signature, case: Case) -> bool:
    """Whether the version ``signature`` is for is open to signature now."""
    if signature.amendment_id is not None:
        return case.state == State.SIGNED_OFF
    contract = signature.contract
    return contract.state == State.CONTRACTUALISED and signature.version == contract.version_number


def can_sign(user: AnyUser, signature: Signature, case: Case) -> bool:
    return (
        not signature.signed
        and signable(signature, case)
        and speaks_for(user, case, signature.party, signature.party_ref)
    )


def _checked_text(name: str, value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"Indiquez {what}.", field=name)
    if len(value) > limit:
        raise InvalidInput(f"Ce texte dépasse {limit} caractères.", field=name)
    return value


def _checked_inputs(
    signer_name: str, signer_role: str, signed_on: date | None, authority: str
) -> tuple[str, str, date, str]:
    signer_name = _checked_text(
        "signer_name", signer_name, "le nom de la personne qui signe", TEXT_MAX
    )
    signer_role = _checked_text("signer_role", signer_role, "sa qualité (fonction)", TEXT_MAX)
    authority = _checked_text(
        "authority", authority, "la délibération ou la délégation qui l'autorise", AUTHORITY_MAX
    )
    check_plain_text(signer_name=signer_name, signer_role=signer_role, authority=authority)
    if signed_on is None:
        raise InvalidInput("Indiquez la date de la signature.", field="signed_on")
    if not isinstance(signed_on, date):
        raise InvalidInput("Saisissez une date valide.", field="signed_on")
    if signed_on > timezone.localdate():
        raise InvalidInput(
            "La date de la signature ne peut pas être dans le futur.", field="signed_on"
        )
    if signed_on < PROGRAMME_START:
        # A typo (1919 for 2019) rather than a signature: the programme began in November
        # 2018. The ceremony may precede its record here (a wave held, then validated), so
        # the version's own dates are no bound.
        raise InvalidInput(
            "La date de la signature précède le programme Territoires d'industrie "
            "(novembre 2018) : vérifiez l'année.",
            field="signed_on",
        )
    return signer_name, signer_role, signed_on, authority


def refusal(signature: Signature, case: Case, actor: User) -> Exception | None:
    if signature.signed:
        return ActionNotPossible(
            f"{signature.label} a déjà signé cette version, le "
            f"{french.date_fr(signature.signed_on)} : une signature ne se reprend pas."
        )
    if not signable(signature, case):
        if (
            signature.amendment_id is None
            and signature.version != signature.contract.version_number
        ):
            return ActionNotPossible(
                f"La version {signature.version} n'est plus la version en vigueur du contrat "
                f"(version {signature.contract.version_number}) : elle ne se signe plus."
            )
        return ActionNotPossible(
            f"Le dossier est à l'état « {case.state_label} » : cette version ne se signe pas."
        )
    if not speaks_for(actor, case, signature.party, signature.party_ref):
        return ActionForbidden(f"Seuls les agents de {signature.label} signent pour lui.")
    return None


def signature_record(
    *,
    signature: Signature,
    actor: User,
    signer_name: str,
    signer_role: str,
    signed_on: date | None,
    authority: str,
    expected_version: int | None,
) -> Signature:
    """The signature of ``signature``'s party, on the authority of ``authority``; the last
    signature of an avenant applies it (``cases.contracts.amendments.enact``)."""
    signer_name, signer_role, signed_on, authority = _checked_inputs(
        signer_name, signer_role, signed_on, authority
    )
    # Imported here: amendments builds on this module (its signatories are made here).
    from cases.contracts import amendments

    with transaction.atomic():
        # The contract first, then its avenant: the order every service takes them in.
        contract = lock_case(TerritoryContract(pk=signature.contract_id))
        case: Case = contract
        if signature.amendment_id is not None:
            case = amendments.lock_amendment(signature.amendment_id)
        check_version(case, expected_version)
        current = Signature.objects.select_for_update().get(pk=signature.pk)
        current.contract = contract
        problem = refusal(current, case, actor)
        if problem is not None:
            raise problem
        now = timezone.now()
        current.signer_name, current.signer_role = signer_name, signer_role
        current.signed_on, current.authority = signed_on, authority
        current.recorded_by, current.recorded_at = actor, now
        current.save(
            update_fields=[
                "signer_name",
                "signer_role",
                "signed_on",
                "authority",
                "recorded_by",
                "recorded_at",
            ]
        )
        _record(case, current, actor, now)
        if signature.amendment_id is not None:
            amendments.enact_if_signed(case, contract, actor, now)  # type: ignore[arg-type]
    return current


def signed_hash(case: Case, signature: Signature) -> str:
    """The hash of the content the signature signs: the version's, or the avenant's proposal."""
    if signature.amendment_id is not None:
        return content_hash(case.proposal)  # type: ignore[attr-defined]
    return (
        ContractVersion.objects.filter(contract_id=signature.contract_id, number=signature.version)
        .values_list("content_hash", flat=True)
        .get()
    )


def signing_operators(signature: Signature) -> list[str]:
    """The operators that sign the same version (or the same avenant), to be told of each
    signature."""
    if signature.amendment_id is not None:
        same = Signature.objects.filter(amendment_id=signature.amendment_id)
    else:
        same = version_signatures(signature.contract_id, signature.version)
    return list(same.filter(party=Party.OPERATOR).values_list("party_ref", flat=True))


def _record(case: Case, signature: Signature, actor: User, now: datetime) -> CaseEvent:
    return record_event(
        case,
        actor,
        fields=[],
        extra={"detail": signature.label, "operators": signing_operators(signature)},
        kind=CaseEvent.Kind.EDIT,
        name="signature",
        payload={
            "signature": signature.pk,
            "version": signature.version,
            "content_hash": signed_hash(case, signature),
            "party": signature.party,
            "party_ref": signature.party_ref,
            "label": signature.label,
            "signer_name": signature.signer_name,
            "signer_role": signature.signer_role,
            "signed_on": signature.signed_on,
            "authority": signature.authority,
        },
        at=now,
    )


def missing(signatures: Iterable[Signature]) -> list[Signature]:
    return [signature for signature in signatures if not signature.signed]


def version_signatures(contract_id: int, number: int) -> QuerySet[Signature]:
    return Signature.objects.filter(in_force(), contract_id=contract_id, version=number)


def current_signatures(contract: TerritoryContract) -> list[Signature]:
    if not contract.version_number:
        return []
    return list(version_signatures(contract.pk, contract.version_number).order_by("party", "label"))


def is_signed(contract: TerritoryContract) -> bool:
    """« Signé »: every signatory of its current version has signed (version 1's, or those
    of the avenant that made it, all of whom signed before it took effect)."""
    if contract.version_number == 0:
        return False
    unsigned = version_signatures(contract.pk, contract.version_number)
    return not unsigned.filter(signed_on__isnull=True).exists()

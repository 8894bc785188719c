"""The avenant's rules: who may take which transition in which state, concurrency, the audit
chains (its own, linked to its contract's; the wave's untouched), and who is told."""

from datetime import date
from decimal import Decimal
from functools import partial

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.contracts import amendments, signing
from cases.contracts.models import ContractAmendment, ContractVersion
from cases.kernel import selectors, services
from cases.kernel.audit import GENESIS, event_hash, verify_case
from cases.kernel.models import Case, CaseEvent
from cases.waves.audit import verify_wave
from cases.waves.models import Wave, WaveEvent
from notifications.models import Notification
from tests import factories
from tests.cases.contracts.test_amendments import (
    FICHE,
    committed_contract,
    epci_author,
    raise_line_and_add_fiche,
    reviewed,
)
from tests.cases.kernel.test_concurrency import race

ROLES = ("epci", "other_epci", "region", "other_region", "ministry", "operator", "steering")
TRANSITIONS = ("submit", "approve", "request_changes", "reject", "withdraw", "sign_off")
# Who may take each transition, from the state it starts from; everyone else is refused.
ALLOWED = {
    ("draft", "submit"): {"epci"},
    ("draft", "withdraw"): {"epci"},
    ("regional_review", "approve"): {"region"},
    ("regional_review", "request_changes"): {"region"},
    ("regional_review", "reject"): {"region"},
    ("regional_review", "withdraw"): {"epci"},
    ("ministerial_review", "sign_off"): {"ministry"},
    ("ministerial_review", "request_changes"): {"ministry"},
    ("ministerial_review", "reject"): {"ministry"},
    ("ministerial_review", "withdraw"): {"epci"},
    ("signed_off", "withdraw"): {"epci"},
}
STATES = ("draft", "regional_review", "ministerial_review", "signed_off", "signed", "withdrawn")


def actor_for(role: str, contract):
    region = contract.territory.pilot_region.code
    return {
        "epci": lambda: epci_author(contract),
        "other_epci": lambda: factories.epci_agent("200066793"),
        "region": lambda: factories.region_reviewer(region),
        "other_region": lambda: factories.region_reviewer("11" if region != "11" else "84"),
        "ministry": factories.ministry_agent,
        "operator": lambda: factories.operator_agent("Bpifrance"),
        "steering": factories.steering_member,
    }[role]()


def amendment_in_state(state: str) -> ContractAmendment:
    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author)
    raise_line_and_add_fiche(amendment, author)
    if state == "draft":
        return amendment
    if state == "withdrawn":
        services.run_transition(case=amendment, actor=author, name="withdraw")
        amendment.refresh_from_db()
        return amendment
    if state == "regional_review":
        return reviewed_until(amendment, ["submit"])
    if state == "ministerial_review":
        return reviewed_until(amendment, ["submit", "approve"])
    amendment = reviewed(amendment)
    if state == "signed":
        factories.sign_all(amendment.signatures.all())
        amendment.refresh_from_db()
    return amendment


def reviewed_until(amendment, names):
    region = amendment.territory.pilot_region.code
    actors = {"submit": epci_author(amendment.parent), "approve": factories.region_reviewer(region)}
    for name in names:
        services.run_transition(case=amendment, actor=actors[name], name=name)
    amendment.refresh_from_db()
    return amendment


@pytest.mark.django_db
@pytest.mark.parametrize("state", STATES)
def test_permission_table_of_avenants(state):
    """Every role against every transition in each state: allowed where the table says so,
    refused (403 or 409) and unchanged everywhere else."""
    amendment = amendment_in_state(state)
    actors = {role: actor_for(role, amendment.parent) for role in ROLES}
    for name in TRANSITIONS:
        for role in ROLES:
            expected = role in ALLOWED.get((state, name), set())
            before = ContractAmendment.objects.values_list("state", "version").get(pk=amendment.pk)
            if expected:
                # Allowed: proven by what the page offers, without spending the case.
                assert name in services.available_transitions(amendment, actors[role]), (
                    state,
                    name,
                    role,
                )
                continue
            comment = "Motif" if name in services.COMMENT_REQUIRED else ""
            with pytest.raises(services.CaseActionError) as refused:
                services.run_transition(
                    case=amendment, actor=actors[role], name=name, comment=comment
                )
            assert refused.value.status in (403, 409), (state, name, role)
            after = ContractAmendment.objects.values_list("state", "version").get(pk=amendment.pk)
            assert after == before


@pytest.mark.django_db
def test_enact_cannot_be_run_directly():
    amendment = amendment_in_state("signed_off")
    with pytest.raises(services.ActionNotPossible) as by_name:
        services.run_transition(case=amendment, actor=factories.ministry_agent(), name="enact")
    assert "Action inconnue" in by_name.value.message
    with pytest.raises(services.ActionNotPossible) as declared:
        services.run_declared_transition(
            case=amendment,
            actor=factories.ministry_agent(),
            name="enact",
            prepare=lambda _case: ([], {}),
        )
    assert "tous ses signataires ont signé" in declared.value.message
    amendment.refresh_from_db()
    assert amendment.state == "signed_off"


@pytest.mark.django_db
def test_the_review_cycle_runs_in_order_and_changes_can_be_asked():
    amendment = amendment_in_state("regional_review")
    region = factories.region_reviewer(amendment.territory.pilot_region.code)
    services.run_transition(
        case=amendment, actor=region, name="request_changes", comment="Chiffrez la fiche."
    )
    amendment.refresh_from_db()
    assert amendment.state == "draft"
    names = list(amendment.events.values_list("name", flat=True))
    assert names[0] == "create" and names[-1] == "request_changes"


@pytest.mark.django_db(transaction=True)
def test_two_avenants_opened_at_once_one_wins(reference_data):
    for _ in range(5):
        contract = factories.signed_contract()
        author = epci_author(contract)
        outcomes = race(
            *(partial(amendments.amendment_open, contract=contract, actor=author) for _ in range(2))
        )
        assert outcomes == ["ActionNotPossible", "ok"], outcomes
        assert ContractAmendment.objects.filter(parent=contract).count() == 1


@pytest.mark.django_db
def test_a_closed_avenant_frees_the_contract_for_the_next():
    amendment = amendment_in_state("withdrawn")
    assert not amendment.is_open
    second = amendments.amendment_open(
        contract=amendment.parent, actor=epci_author(amendment.parent)
    )
    assert second.number == 2


@pytest.mark.django_db
def test_audit_chains_linked_verified_and_the_wave_untouched():
    amendment = amendment_in_state("signed")
    contract = amendment.parent
    wave = Wave.objects.get(items__contract=contract)
    wave_events = WaveEvent.objects.filter(wave=wave).count()
    assert verify_wave(wave) is None
    creation = amendment.events.get(name="create")
    opened = contract.events.get(name="amendment_open")
    assert creation.payload["contract"] == contract.reference
    # The avenant's first event names the head of its contract's chain when it opened...
    head = contract.events.get(seq=opened.seq - 1)
    assert creation.payload["contract_audit_head"] == head.hash
    # ... and the contract's chain names the avenant, then the version it made.
    assert opened.payload["amendment"] == amendment.reference
    new_version = contract.events.get(name="new_version")
    assert new_version.payload["amendment_audit_head"] == amendment.audit_head
    call_command("verify_audit")
    assert WaveEvent.objects.filter(wave=wave).count() == wave_events
    # An avenant's event altered: verify_audit names it.
    CaseEvent.objects.filter(pk=creation.pk).update(comment="altéré")
    with pytest.raises(CommandError, match=amendment.reference):
        call_command("verify_audit")


@pytest.mark.django_db
def test_the_others_are_told_of_the_new_version():
    amendment = amendment_in_state("signed_off")
    contract = amendment.parent
    outsider = factories.operator_agent("Banque des territoires")
    assert {s.party_ref for s in amendment.signatures.all()} == {"bpifrance", "84"}
    ministry = factories.ministry_agent()
    factories.sign_all(amendment.signatures.all())
    notified = set(
        Notification.objects.filter(event__case=contract, kind="new_version").values_list(
            "recipient_id", flat=True
        )
    )
    assert ministry.pk in notified  # not a signatory of this avenant, told all the same
    assert outsider.pk not in notified  # no line of Banque des territoires: not told
    assert Notification.objects.filter(event__case=amendment, kind="signature_request").exists()


@pytest.mark.django_db
def test_an_avenant_adding_a_new_partner_is_signed_by_that_partner():
    contract = factories.signed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Nouveau")
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=factories.contract_version(amendment),
        fields=FICHE,
        financings=[{"funder": "business_france", "amount": Decimal("30000")}],
    )
    amendment = reviewed(amendment)
    assert [s.party_ref for s in amendment.signatures.all()] == ["business_france"]
    partner = factories.operator_agent("Business France")
    assert selectors.cases_for_user(partner).filter(pk=amendment.pk).exists()
    signing.signature_record(
        signature=amendment.signatures.get(),
        actor=partner,
        signer_name="Directrice régionale",
        signer_role="Business France",
        signed_on=date(2020, 1, 15),
        authority="Délégation du directeur général",
        expected_version=None,
    )
    contract.refresh_from_db()
    assert contract.version_number == 2


def rewrite_chain(case) -> None:
    """Every event of ``case`` hashed again in order, as one who rewrote its history whole
    would: its own chain then verifies."""
    previous = GENESIS
    for event in CaseEvent.objects.filter(case=case).order_by("seq"):
        event.prev_hash = previous
        event.hash = event_hash(event)
        CaseEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=event.hash)
        previous = event.hash
    Case.objects.filter(pk=case.pk).update(audit_head=previous)


@pytest.mark.django_db
def test_verify_audit_catches_an_avenant_rewritten_after_its_version():
    amendment = amendment_in_state("signed")
    call_command("verify_audit")
    # Its history rewritten whole, after the contract's version named its head: its own
    # chain verifies, the contract's back-reference no longer does.
    enacted = amendment.events.get(name="enact")
    CaseEvent.objects.filter(pk=enacted.pk).update(comment="réécrit")
    rewrite_chain(amendment)
    amendment.refresh_from_db()
    assert verify_case(amendment) is None
    with pytest.raises(CommandError, match=rf"{amendment.reference}.*version 2"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_catches_a_version_that_is_not_what_the_contract_recorded():
    amendment = amendment_in_state("signed")
    version = amendment.parent.versions.get(number=2)
    ContractVersion.objects.filter(pk=version.pk).update(content_hash="0" * 64)
    with pytest.raises(CommandError, match=rf"{amendment.reference}.*version 2"):
        call_command("verify_audit")


def withdrawn_then_redone(*, sign: bool = True):
    """An avenant withdrawn after its sign-off, one of its two signatories having signed,
    then the same changes in a second avenant, signed off (and signed by all, if ``sign``)."""
    first = amendment_in_state("signed_off")
    contract = first.parent
    factories.sign_all([first.signatures.get(party="region")])
    author = epci_author(contract)
    services.run_transition(case=first, actor=author, name="withdraw", comment="Refait.")
    second = amendments.amendment_open(contract=contract, actor=author)
    raise_line_and_add_fiche(second, author)
    second = reviewed(second)
    if sign:
        factories.sign_all(second.signatures.all())
    contract.refresh_from_db()
    return first, second, contract


@pytest.mark.django_db
def test_an_avenant_withdrawn_while_awaiting_signatures_leaves_the_next_one_free():
    """The next avenant, with the same changes and so the same signatories, is signed off,
    signed and applied (its signatories were refused as duplicates: a 500), and the
    contract's version 2 is signed by its own signatories only."""
    first, second, contract = withdrawn_then_redone(sign=False)
    assert {(s.party, s.party_ref, s.signed) for s in second.signatures.all()} == {
        ("operator", "bpifrance", False),
        ("region", "84", False),
    }
    factories.sign_all(second.signatures.all())
    contract.refresh_from_db()
    assert contract.version_number == 2
    current = signing.current_signatures(contract)
    assert {s.amendment_id for s in current} == {second.pk}
    assert signing.is_signed(contract)
    # The first avenant's signatures stay where they were given, on it.
    assert first.signatures.filter(signed_on__isnull=False).count() == 1
    assert amendments.open_refusal(contract) is None
    call_command("verify_audit")  # a withdrawn avenant and a signed one on one contract


@pytest.mark.django_db
def test_verify_audit_catches_an_avenant_set_back_from_signed():
    """Its state is no link of any chain: the contract's version still names it."""
    amendment = amendment_in_state("signed")
    ContractAmendment.objects.filter(pk=amendment.pk).update(state="signed_off")
    with pytest.raises(CommandError, match=rf"{amendment.reference}.*version 2"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_catches_a_versions_content_altered_under_its_hash():
    contract = factories.signed_contract()
    version = contract.versions.get(number=1)
    content = version.content
    content["actions"][0]["title"] = "Autre fiche"
    ContractVersion.objects.filter(pk=version.pk).update(content=content)
    with pytest.raises(CommandError, match=rf"{contract.reference}.*version 1"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_catches_a_proposal_altered_after_its_signatures():
    amendment = amendment_in_state("signed")
    proposal = amendment.proposal
    proposal["actions"][0]["title"] = "Autre fiche"
    ContractAmendment.objects.filter(pk=amendment.pk).update(proposal=proposal)
    with pytest.raises(CommandError, match=rf"{amendment.reference}.*signé"):
        call_command("verify_audit")

"""Signatures and avenants through the services: version 1 at contractualisation, who signs,
an avenant's review, its diff, who re-signs, and version 2."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from cases.contracts import amendments, signing
from cases.contracts.models import (
    ContractAmendment,
    ContractVersion,
    FinancingLine,
    Signature,
    TerritoryContract,
)
from cases.contracts.selectors import contracts_for_user
from cases.kernel import services
from cases.kernel.audit import verify_case
from tests import factories

pytestmark = pytest.mark.django_db

FICHE = {
    "title": "Plateforme d'apprentissage",
    "axis": "recruter",
    "project_owner": "Campus des métiers",
    "description": "",
    "total_cost": Decimal("250000.00"),
    "schedule": "2021",
    "status": "idea",
}


def epci_author(contract):
    siren = contract.territory.intercommunalities.order_by("siren").first().siren
    return factories.epci_agent(siren)


def reviewed(amendment, *, sign_off=True):
    """The avenant submitted, approved by its Region and signed off by the ministry."""
    region = amendment.territory.pilot_region.code
    steps = [
        ("submit", epci_author(amendment.parent)),
        ("approve", factories.region_reviewer(region)),
    ]
    if sign_off:
        steps.append(("sign_off", factories.ministry_agent()))
    for name, actor in steps:
        services.run_transition(case=amendment, actor=actor, name=name)
    amendment.refresh_from_db()
    return amendment


def committed_contract():
    """A contract whose Bpifrance line was committed before its wave, then signed by all."""
    from cases.contracts import commitments

    contract = factories.contract_in_state("signed_off")
    line = FinancingLine.objects.get(action__contract=contract)
    commitments.financing_commit(
        line=line,
        actor=factories.operator_agent("Bpifrance"),
        amount="40000",
        committed_on=date(2019, 2, 1),
        expected_version=None,
    )
    factories.contractualise(contract)
    contract.refresh_from_db()
    factories.sign_all(signing.current_signatures(contract))
    contract.refresh_from_db()
    return contract


def test_the_wave_makes_version_1_and_its_signatories():
    contract = committed_contract()
    version = ContractVersion.objects.get(contract=contract)
    assert (contract.version_number, version.number) == (1, 1)
    assert version.committed_total == Decimal("40000.00")
    parties = Signature.objects.filter(contract=contract, version=1)
    epcis = contract.territory.intercommunalities.count()
    assert sorted(parties.values_list("party", flat=True)) == sorted(
        ["epci"] * epcis + ["operator", "region", "state"]
    )
    assert signing.is_signed(contract)
    names = list(
        contract.events.filter(name="signature").values_list("payload__version", flat=True)
    )
    assert names == [1] * parties.count()
    assert verify_case(contract) is None


def test_a_requested_line_does_not_make_its_operator_a_signatory():
    contract = factories.contract_in_state("contractualised")
    parties = set(Signature.objects.filter(contract=contract).values_list("party", flat=True))
    assert "operator" not in parties
    assert not signing.is_signed(contract)


def test_only_an_agent_of_the_party_signs_and_once():
    contract = factories.contract_in_state("contractualised")
    state = Signature.objects.get(contract=contract, party="state")
    region = contract.territory.pilot_region.code
    fields = {
        "signer_name": "Pascal Mailhos",
        "signer_role": "Préfet de la région Auvergne-Rhône-Alpes",
        "signed_on": date(2019, 3, 5),
        "authority": "Délégation de signature du 1er mars 2019",
        "expected_version": None,
    }
    with pytest.raises(services.ActionForbidden):
        signing.signature_record(signature=state, actor=factories.region_reviewer(region), **fields)
    signing.signature_record(signature=state, actor=factories.ministry_agent(), **fields)
    with pytest.raises(services.ActionNotPossible) as twice:
        signing.signature_record(signature=state, actor=factories.ministry_agent(), **fields)
    assert "a déjà signé" in twice.value.message
    state.refresh_from_db()
    assert state.signer_name == "Pascal Mailhos"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("signer_name", "  ", "Indiquez le nom de la personne qui signe."),
        ("authority", "", "Indiquez la délibération ou la délégation qui l'autorise."),
        ("signed_on", date(2099, 1, 1), "La date de la signature ne peut pas être dans le futur."),
        (
            "signed_on",
            date(1919, 3, 5),
            "La date de la signature précède le programme Territoires d'industrie "
            "(novembre 2018) : vérifiez l'année.",
        ),
    ],
)
def test_a_signature_needs_its_signer_date_and_authority(field, value, message):
    contract = factories.contract_in_state("contractualised")
    state = Signature.objects.get(contract=contract, party="state")
    fields = {
        "signer_name": "Préfète",
        "signer_role": "Préfète de région",
        "signed_on": date(2019, 3, 5),
        "authority": "Délégation",
        field: value,
    }
    with pytest.raises(services.InvalidInput) as refused:
        signing.signature_record(
            signature=state, actor=factories.ministry_agent(), expected_version=None, **fields
        )
    assert refused.value.message == message
    state.refresh_from_db()
    assert not state.signed


def test_an_avenant_needs_a_signed_contract_and_only_one_at_a_time():
    unsigned = factories.contract_in_state("contractualised")
    with pytest.raises(services.ActionNotPossible) as refused:
        amendments.amendment_open(contract=unsigned, actor=epci_author(unsigned))
    assert "pas encore signé" in refused.value.message
    contract = factories.signed_contract()
    first = amendments.amendment_open(contract=contract, actor=epci_author(contract))
    with pytest.raises(services.ActionNotPossible) as second:
        amendments.amendment_open(contract=contract, actor=epci_author(contract))
    assert first.reference in second.value.message
    assert ContractAmendment.objects.filter(parent=contract).count() == 1


@pytest.mark.parametrize("state", ["withdrawn", "rejected"])
def test_no_avenant_on_a_withdrawn_or_rejected_contract(state):
    contract = factories.contract_in_state(state)
    with pytest.raises(services.ActionNotPossible) as refused:
        amendments.amendment_open(contract=contract, actor=epci_author(contract))
    assert "ne peut pas recevoir d'avenant" in refused.value.message


def raise_line_and_add_fiche(amendment, author):
    """Bpifrance's line raised from 40 000 to 60 000 €, a new fiche asking the Region."""
    fiche = amendment.proposal["actions"][0]
    line = fiche["financings"][0]
    version = factories.contract_version(amendment)
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=version,
        key=fiche["key"],
        fields={name: fiche[name] for name in FICHE},
        financings=[{"line": line["line"], "funder": "bpifrance", "amount": Decimal("60000")}],
    )
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=version + 1,
        fields=FICHE,
        financings=[{"funder": "region", "amount": Decimal("75000")}],
    )
    amendments.amendment_update(
        case=amendment,
        actor=author,
        expected_version=version + 2,
        purpose="Avenant n° 1 : plateforme d'apprentissage",
    )
    amendment.refresh_from_db()


def test_the_diff_of_a_known_pair_of_versions():
    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author)
    raise_line_and_add_fiche(amendment, author)
    diff = amendments.diff_of(amendment)
    assert [(c.kind, c.title) for c in diff.actions] == [
        ("changed", "Fiche-action 1"),
        ("added", "Plateforme d'apprentissage"),
    ]
    changed, added = diff.actions
    assert [(ln.funder, ln.before, ln.after) for ln in changed.lines] == [
        ("bpifrance", Decimal("40000.00"), Decimal("60000"))
    ]
    assert [(ln.funder, ln.before, ln.after) for ln in added.lines] == [
        ("region", None, Decimal("75000"))
    ]
    assert [(f.funder, f.before, f.after, f.delta) for f in diff.funders] == [
        ("bpifrance", Decimal("40000.00"), Decimal("60000.00"), Decimal("20000.00")),
        ("region", Decimal("0"), Decimal("75000.00"), Decimal("75000.00")),
    ]
    assert diff.affected_funders == {"bpifrance", "region"}


def test_only_those_whose_commitments_change_sign_and_then_version_2():
    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author)
    raise_line_and_add_fiche(amendment, author)
    reviewed(amendment)
    assert amendment.state == "signed_off"
    must_sign = list(amendment.signatures.order_by("party"))
    assert [(s.party, s.party_ref) for s in must_sign] == [
        ("operator", "bpifrance"),
        ("region", contract.territory.pilot_region.code),
    ]
    factories.sign_all(must_sign[:1])
    contract.refresh_from_db()
    assert contract.version_number == 1  # one signature still missing
    factories.sign_all(must_sign[1:])
    contract.refresh_from_db()
    amendment.refresh_from_db()
    assert (amendment.state, amendment.is_open, contract.version_number) == ("signed", False, 2)
    version = ContractVersion.objects.get(contract=contract, number=2)
    assert version.amendment == amendment
    assert version.requested_total == Decimal("135000.00")
    assert version.committed_total == Decimal("135000.00")
    lines = FinancingLine.objects.filter(action__contract=contract).order_by("pk")
    assert [(ln.funder, ln.amount, ln.status) for ln in lines] == [
        ("bpifrance", Decimal("60000.00"), "committed"),
        ("region", Decimal("75000.00"), "committed"),
    ]
    assert signing.is_signed(contract)
    assert verify_case(contract) is None and verify_case(amendment) is None
    new_version = contract.events.get(name="new_version")
    assert new_version.payload["amendment_audit_head"] == amendment.audit_head
    # Version 1 is still what it was.
    first = ContractVersion.objects.get(contract=contract, number=1)
    assert first.content["actions"][0]["financings"][0]["amount"] == "40000.00"


def test_an_avenant_that_touches_no_commitment_applies_at_sign_off():
    contract = factories.signed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Calendrier")
    fiche = amendment.proposal["actions"][0]
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=factories.contract_version(amendment),
        key=fiche["key"],
        fields={**{name: fiche[name] for name in FICHE}, "schedule": "2020-2023"},
        financings=[
            {"line": line["line"], "funder": line["funder"], "amount": Decimal(line["amount"])}
            for line in fiche["financings"]
        ],
    )
    reviewed(amendment)
    contract.refresh_from_db()
    assert (amendment.state, contract.version_number) == ("signed", 2)
    assert not amendment.signatures.exists()
    call_command("verify_audit")  # applied at sign-off, its chains linked all the same


def test_an_old_version_is_never_written():
    contract = factories.signed_contract()
    first = ContractVersion.objects.get(contract=contract, number=1)
    first.content = {"actions": []}
    with pytest.raises(ValueError, match="ne se modifie pas"):
        first.save()
    with pytest.raises(ValueError, match="ne se supprime pas"):
        first.delete()
    assert ContractVersion.objects.get(pk=first.pk).content["actions"]


def test_a_signature_of_an_old_version_is_refused():
    contract = factories.contract_in_state("contractualised")
    old = Signature.objects.get(contract=contract, party="state")
    TerritoryContract.objects.filter(pk=contract.pk).update(version_number=2)
    with pytest.raises(services.ActionNotPossible) as refused:
        factories.sign_all([old])
    assert "n'est plus la version en vigueur" in refused.value.message


def _with_line(funder: str, amount: str):
    def change(amendment, author):
        amendments.amendment_action_save(
            case=amendment,
            actor=author,
            expected_version=factories.contract_version(amendment),
            fields=FICHE,
            financings=[{"funder": funder, "amount": Decimal(amount)}],
        )

    return change


def _fiche_removed(amendment, author):
    amendments.amendment_action_remove(
        case=amendment,
        actor=author,
        expected_version=factories.contract_version(amendment),
        key=amendment.proposal["actions"][0]["key"],
    )


def _cost_changed(amendment, author):
    fiche = amendment.proposal["actions"][0]
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=factories.contract_version(amendment),
        key=fiche["key"],
        fields={**{name: fiche[name] for name in FICHE}, "total_cost": Decimal("120000")},
        financings=[
            {"line": line["line"], "funder": line["funder"], "amount": Decimal(line["amount"])}
            for line in fiche["financings"]
        ],
    )


@pytest.mark.parametrize(
    ("change", "signers"),
    [
        (_with_line("bpifrance", "1000"), ["operator:bpifrance"]),
        (_with_line("state", "1000"), ["state:state"]),
        (_with_line("region", "1000"), ["region:84"]),
        (_with_line("epci", "1000"), "every EPCI"),
        (_with_line("other", "1000"), []),
        (_fiche_removed, ["operator:bpifrance"]),
        (_cost_changed, []),
    ],
    ids=["operator", "state", "region", "epci", "other", "fiche-removed", "cost-only"],
)
def test_who_must_sign_each_kind_of_avenant(change, signers):
    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Objet")
    change(amendment, author)
    amendment.refresh_from_db()
    found = [f"{party}:{ref}" for party, ref, _ in amendments.required_parties(amendment)]
    if signers == "every EPCI":
        sirens = contract.territory.intercommunalities.values_list("siren", flat=True)
        signers = sorted(f"epci:{siren}" for siren in sirens)
        found = sorted(found)
    assert found == signers


def test_the_operators_that_sign_version_1_are_told_of_the_wave():
    from notifications.models import Notification

    other = factories.operator_agent("Business France")
    contract = committed_contract()
    # The agent who committed the line before the wave, a member of Bpifrance then.
    bpifrance = FinancingLine.objects.get(action__contract=contract).answered_by
    told = set(
        Notification.objects.filter(kind="contractualise", case=contract).values_list(
            "recipient_id", flat=True
        )
    )
    assert bpifrance.pk in told
    assert other.pk not in told


def test_a_line_changed_and_changed_back_keeps_its_commitment():
    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Objet")
    fiche = amendment.proposal["actions"][0]
    line = fiche["financings"][0]
    for amount in ("60000", "40000"):
        amendment.refresh_from_db()
        amendments.amendment_action_save(
            case=amendment,
            actor=author,
            expected_version=factories.contract_version(amendment),
            key=fiche["key"],
            fields={name: fiche[name] for name in FICHE},
            financings=[{"line": line["line"], "funder": "bpifrance", "amount": Decimal(amount)}],
        )
    amendment.refresh_from_db()
    kept = amendment.proposal["actions"][0]["financings"][0]
    assert (kept["status"], kept["committed_amount"]) == ("committed", "40000.00")
    assert amendments.diff_of(amendment).is_empty


def test_an_operator_the_avenant_takes_out_is_not_sent_to_the_new_version():
    """Its only line removed, Bpifrance signs the avenant but reads the contract no more:
    it is not told of version 2 with a link to a page it cannot open."""
    from notifications.models import Notification

    contract = committed_contract()
    bpifrance = FinancingLine.objects.get(action__contract=contract).answered_by
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Objet")
    _fiche_removed(amendment, author)
    _with_line("region", "1000")(amendment, author)
    reviewed(amendment)
    factories.sign_all(list(amendment.signatures.all()))
    contract.refresh_from_db()
    assert contract.version_number == 2
    assert not contracts_for_user(bpifrance).filter(pk=contract.pk).exists()
    told = Notification.objects.filter(kind="new_version", case=contract)
    assert told.exists()
    assert not told.filter(recipient=bpifrance).exists()

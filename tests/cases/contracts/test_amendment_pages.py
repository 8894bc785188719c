"""Signatures and avenants through the pages, each party with their own account."""

import html

import pytest
from django.urls import reverse

from cases.contracts import signing
from cases.contracts.models import ContractAmendment, Signature
from tests import factories
from tests.cases.contracts.test_amendments import committed_contract, epci_author, reviewed

pytestmark = pytest.mark.django_db

SIGNATURE = {
    "signer_name": "Martial Saddier",
    "signer_role": "Président de la communauté de communes",
    "signed_on": "2019-03-05",
    "authority": "Délibération n° 2019-12 du 1er mars 2019",
}


def post(client, url, data):
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    return response


def test_a_party_signs_from_the_contract_page_and_sees_what_is_missing(client):
    contract = factories.contract_in_state("contractualised")
    state = Signature.objects.get(contract=contract, party="state")
    client.force_login(factories.ministry_agent())
    page = client.get(contract.get_absolute_url()).content.decode()
    assert "Version 1 du contrat et ses signatures" in page
    assert "signatures manquent" in page
    url = reverse("signature-record", args=[contract.reference, state.pk])
    assert url in page
    refused = client.post(url, {**SIGNATURE, "signer_name": "", "version": contract.version})
    assert refused.status_code == 400
    assert "Sa qualité" in refused.content.decode()
    post(client, url, {**SIGNATURE, "version": contract.version})
    state.refresh_from_db()
    assert state.signer_name == "Martial Saddier"
    page = client.get(contract.get_absolute_url()).content.decode()
    assert "Délibération n° 2019-12 du 1er mars 2019" in page
    assert url not in page


def test_an_agent_of_another_party_gets_no_form(client):
    contract = factories.contract_in_state("contractualised")
    state = Signature.objects.get(contract=contract, party="state")
    client.force_login(factories.region_reviewer(contract.territory.pilot_region.code))
    url = reverse("signature-record", args=[contract.reference, state.pk])
    assert url not in client.get(contract.get_absolute_url()).content.decode()
    response = client.post(url, {**SIGNATURE, "version": contract.version})
    assert response.status_code == 403
    state.refresh_from_db()
    assert not state.signed


def test_outsiders_get_404_on_versions_signatures_and_avenants(client):
    contract = factories.signed_contract()
    amendment_id = None
    author = epci_author(contract)
    client.force_login(author)
    post(client, reverse("amendment-open", args=[contract.reference]), {"purpose": "Objet"})
    amendment_id = ContractAmendment.objects.get(parent=contract).reference
    signature = Signature.objects.filter(contract=contract).first()
    client.force_login(factories.epci_agent("200066793"))  # an EPCI of another territory
    for url in (
        reverse("contract-version", args=[contract.reference, 1]),
        reverse("signature-record", args=[contract.reference, signature.pk]),
        reverse("amendment-detail", args=[amendment_id]),
        reverse("amendment-edit", args=[amendment_id]),
    ):
        assert client.get(url).status_code == 404, url


def test_an_avenant_drafted_reviewed_and_signed_through_the_pages(client):
    contract = committed_contract()
    author = epci_author(contract)
    client.force_login(author)
    page = client.get(contract.get_absolute_url()).content.decode()
    assert "Ouvrir un avenant" in page
    post(client, reverse("amendment-open", args=[contract.reference]), {"purpose": ""})
    amendment = ContractAmendment.objects.get(parent=contract)
    detail = amendment.get_absolute_url()
    fiche = amendment.proposal["actions"][0]
    post(
        client,
        reverse("amendment-action-edit", args=[amendment.reference, fiche["key"]]),
        {
            "version": amendment.version,
            **{name: fiche[name] for name in ("title", "axis", "project_owner", "status")},
            "total_cost": "100 000,00",
            "fin-TOTAL_FORMS": "1",
            "fin-INITIAL_FORMS": "1",
            "fin-0-line": fiche["financings"][0]["line"],
            "fin-0-funder": "bpifrance",
            "fin-0-amount": "60 000,50",
        },
    )
    amendment.refresh_from_db()
    post(
        client,
        reverse("amendment-action-create", args=[amendment.reference]),
        {
            "version": amendment.version,
            "title": "Maison des industries",
            "axis": "attirer",
            "project_owner": "Communauté de communes",
            "total_cost": "300000",
            "status": "idea",
            "fin-TOTAL_FORMS": "1",
            "fin-INITIAL_FORMS": "0",
            "fin-0-funder": "state",
            "fin-0-amount": "90000",
        },
    )
    amendment.refresh_from_db()
    page = html.unescape(client.get(detail).content.decode())
    assert "Maison des industries" in page
    assert "60\u202f000,50\u00a0€" in page or "60 000,50" in page.replace("\u202f", " ")
    assert "L'avenant n'indique pas son objet." in page  # what blocks its submission
    post(
        client,
        reverse("amendment-edit", args=[amendment.reference]),
        {
            "version": amendment.version,
            "purpose": "Ajout de la maison de l'industrie",
        },
    )
    amendment.refresh_from_db()
    post(
        client,
        reverse("amendment-transition", args=[amendment.reference]),
        {
            "version": amendment.version,
            "transition": "submit",
            "comment": "",
        },
    )
    amendment = reviewed_from(amendment, submitted=True)
    assert amendment.state == "signed_off"
    must_sign = list(amendment.signatures.order_by("party"))
    assert [s.party_ref for s in must_sign] == ["bpifrance", "state"]
    for signature in must_sign:
        client.force_login(factories.signer_of(signature))
        url = reverse("signature-record", args=[contract.reference, signature.pk])
        assert url in client.get(detail).content.decode()
        amendment.refresh_from_db()
        post(client, url, {**SIGNATURE, "version": amendment.version})
    contract.refresh_from_db()
    assert contract.version_number == 2
    page = client.get(contract.get_absolute_url()).content.decode()
    assert "Version 2 du contrat et ses signatures" in page
    version_page = client.get(reverse("contract-version", args=[contract.reference, 2]))
    text = version_page.content.decode()
    assert "Ce qui a changé depuis la version précédente" in text
    assert "Maison des industries" in text
    assert signing.is_signed(contract)


def reviewed_from(amendment, *, submitted):
    from cases.kernel import services

    region = amendment.territory.pilot_region.code
    services.run_transition(case=amendment, actor=factories.region_reviewer(region), name="approve")
    services.run_transition(case=amendment, actor=factories.ministry_agent(), name="sign_off")
    amendment.refresh_from_db()
    return amendment


def test_a_new_partner_signs_from_its_page_and_operators_wait_for_the_submission(client):
    from decimal import Decimal

    from cases.contracts import amendments
    from tests.cases.contracts.test_amendments import FICHE

    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Nouveau")
    amendments.amendment_action_save(
        case=amendment,
        actor=author,
        expected_version=factories.contract_version(amendment),
        fields=FICHE,
        financings=[{"funder": "business_france", "amount": Decimal("30000")}],
    )
    funder = factories.operator_agent("Bpifrance")  # funds the contract, not this draft
    client.force_login(funder)
    assert client.get(amendment.get_absolute_url()).status_code == 404
    assert amendment.reference not in client.get(contract.get_absolute_url()).content.decode()
    amendment = reviewed(amendment)
    assert client.get(amendment.get_absolute_url()).status_code == 200
    partner = factories.operator_agent("Business France")
    signature = amendment.signatures.get()
    client.force_login(partner)
    url = reverse("signature-record", args=[contract.reference, signature.pk])
    assert url in client.get(amendment.get_absolute_url()).content.decode()
    assert client.get(url).status_code == 200
    amendment.refresh_from_db()
    post(client, url, {**SIGNATURE, "version": amendment.version})
    contract.refresh_from_db()
    assert contract.version_number == 2


def test_a_signed_off_avenant_awaiting_signatures_can_be_withdrawn(client):
    from cases.contracts import amendments
    from cases.kernel import services
    from tests.cases.contracts.test_amendments import raise_line_and_add_fiche

    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author)
    raise_line_and_add_fiche(amendment, author)
    amendment = reviewed(amendment)
    services.run_transition(case=amendment, actor=author, name="withdraw", comment="Abandon")
    amendment.refresh_from_db()
    assert (amendment.state, amendment.is_open) == ("withdrawn", False)
    pending = amendment.signatures.first()
    with pytest.raises(services.ActionNotPossible):
        factories.sign_all([pending])
    assert amendments.amendment_open(contract=contract, actor=author).number == 2


def test_an_operator_hears_of_an_avenant_only_once_it_may_read_it(client):
    """A draft avenant is the EPCI's own work: its opening, on the contract's history, is
    absent for a funder until the avenant is submitted, in the page and in the API alike."""
    from tests.api.test_reads import api, rows

    contract = committed_contract()
    amendment = amendments_open(contract)
    funder = factories.operator_agent("Bpifrance")
    events = f"/api/v1/cases/{contract.reference}/events/"

    def opening_seen_by(user):
        client.force_login(user)
        page = html.unescape(client.get(contract.get_absolute_url()).content.decode())
        names = [event["name"] for event in rows(api(client, user, events))]
        return ("Ouverture d'un avenant" in page, "amendment_open" in names)

    assert opening_seen_by(funder) == (False, False)
    assert opening_seen_by(factories.region_reviewer("84")) == (True, True)
    reviewed(amendment)
    assert opening_seen_by(funder) == (True, True)


def amendments_open(contract):
    """An avenant raising Bpifrance's line, still a draft."""
    from cases.contracts import amendments
    from tests.cases.contracts.test_amendments import raise_line_and_add_fiche

    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Ligne")
    raise_line_and_add_fiche(amendment, author)
    return amendment


def test_an_avenants_purpose_saved_while_a_colleague_edited_it_is_taken_when_sent_again(client):
    from cases.contracts import amendments
    from tests.cases.contracts.test_amendments import raise_line_and_add_fiche
    from tests.cases.contracts.test_http_life import form_fields

    contract = committed_contract()
    author = epci_author(contract)
    amendment = amendments.amendment_open(contract=contract, actor=author, purpose="Première")
    url = reverse("amendment-edit", args=[amendment.reference])
    client.force_login(author)
    typed = {**form_fields(client.get(url)), "purpose": "Une plateforme d'apprentissage"}
    raise_line_and_add_fiche(amendment, author)  # a colleague, meanwhile: purpose and fiches
    refused = client.post(url, typed)
    assert refused.status_code == 409
    assert form_fields(refused)["purpose"] == "Une plateforme d'apprentissage"
    theirs = "Avenant n° 1 : plateforme d'apprentissage"
    assert html.escape(theirs.replace(" :", "\u00a0:")) in refused.content.decode()
    post(client, url, form_fields(refused))
    assert ContractAmendment.objects.get(pk=amendment.pk).purpose == (
        "Une plateforme d'apprentissage"
    )

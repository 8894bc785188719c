"""In real Chromium: an EPCI drafts an avenant that adds a fiche-action and raises a financing
line; the Region and the ministry see its diff and decide; its signatories sign; the contract
then shows its version 2."""

import re

import pytest
from playwright.sync_api import expect

from cases.contracts.models import ContractAmendment
from tests import factories
from tests.cases.contracts.test_amendments import committed_contract, epci_author
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def decide(page, name: str):
    page.click(f"button[name=transition][value={name}]")
    expect(page.locator(".fr-alert--success, .fr-notice, [role=alert]").first).to_be_visible()


def sign(page, url, amendment, signer):
    page.goto(f"{url}{amendment.get_absolute_url()}")
    page.get_by_role("link", name=re.compile(f"Enregistrer la signature de {signer}")).click()
    page.fill("#id_signer_name", "Laurent Wauquiez")
    page.fill("#id_signer_role", "Président")
    page.fill("#id_signed_on", "2020-02-03")
    page.fill("#id_authority", "Délibération n° CP-2020-01 du 31 janvier 2020")
    page.click("button:has-text('Enregistrer la signature')")
    page.wait_for_url(re.compile(r".*/avenants/.*"))


def test_an_avenant_from_draft_to_version_2(browser):
    chromium, url = browser
    contract = committed_contract()
    agent = epci_author(contract)
    region = factories.region_reviewer(contract.territory.pilot_region.code)
    minister = factories.ministry_agent()
    bpifrance = factories.operator_agent("Bpifrance")

    page = logged_in(chromium, url, agent)
    page.goto(f"{url}{contract.get_absolute_url()}")
    page.get_by_role("link", name="Ouvrir un avenant").click()
    page.fill("#id_purpose", "Avenant n° 1 : plateforme d'apprentissage, Bpifrance à 60 000 €")
    page.click("button:has-text('Enregistrer')")
    page.wait_for_url(re.compile(r".*/avenants/AV-.*"))
    amendment = ContractAmendment.objects.get(parent=contract)

    page.locator("#proposition").get_by_role("link", name="Ajouter une fiche-action").click()
    page.fill("#id_title", "Plateforme d'apprentissage")
    page.select_option("#id_axis", "recruter")
    page.fill("#id_project_owner", "Campus des métiers")
    page.fill("#id_total_cost", "250 000")
    page.select_option("#id_fin-0-funder", "region")
    page.fill("#id_fin-0-amount", "75 000,00")
    page.click("ul.fr-btns-group button:has-text('Enregistrer la fiche-action')")
    page.wait_for_url(re.compile(r".*/avenants/AV-.*"))

    page.get_by_role("link", name="Modifier Fiche-action 1").click()
    page.fill("#id_fin-0-amount", "60 000")
    page.click("ul.fr-btns-group button:has-text('Enregistrer la fiche-action')")
    page.wait_for_url(re.compile(r".*/avenants/AV-.*"))
    diff = page.locator("#diff")
    expect(diff).to_contain_text("Plateforme d'apprentissage")
    expect(diff.locator("#diff-funders")).to_contain_text("Bpifrance")
    expect(diff.locator("#diff-funders")).to_contain_text("+20\u202f000,00\u00a0€")
    decide(page, "submit")

    for reviewer, name in ((region, "approve"), (minister, "sign_off")):
        page = logged_in(chromium, url, reviewer)
        page.goto(f"{url}{amendment.get_absolute_url()}")
        expect(page.locator("#diff")).to_contain_text("Fiche-action 1")
        expect(page.locator("#diff-funders")).to_contain_text("60\u202f000,00\u00a0€")
        decide(page, name)

    amendment.refresh_from_db()
    assert amendment.state == "signed_off"
    sign(logged_in(chromium, url, region), url, amendment, contract.territory.pilot_region.name)
    sign(logged_in(chromium, url, bpifrance), url, amendment, "Bpifrance")

    page = logged_in(chromium, url, agent)
    page.goto(f"{url}{contract.get_absolute_url()}")
    expect(page.locator("#signatures-title")).to_have_text("Version 2 du contrat et ses signatures")
    expect(page.locator("#signed-badge")).to_be_visible()
    page.get_by_role("link", name="Version 2").click()
    expect(page.locator("h1")).to_contain_text("version 2")
    expect(page.locator("main")).to_contain_text("Plateforme d'apprentissage")

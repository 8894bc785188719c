"""In real Chromium: « Ajouter un financement » adds a line without a reload, and the lines
added this way are saved with the fiche-action."""

import pytest
from playwright.sync_api import expect

from cases.models import ActionSheet
from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_financing_line_in_the_browser(browser):
    chromium, url = browser
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("draft", author=agent, actions=0)
    page = logged_in(chromium, url, agent)
    page.goto(f"{url}/contrats/{contract.reference}/fiches/nouvelle/")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#financing-lines .financing-line")).to_have_count(2)
    page.click("#add-financing")
    page.click("#add-financing")
    expect(page.locator("#financing-lines .financing-line")).to_have_count(4)
    assert page.evaluate("window.__notReloaded") is True
    assert page.input_value("#id_fin-TOTAL_FORMS") == "4"
    page.fill("#id_title", "Plateforme")
    page.select_option("#id_axis", "innover")
    page.fill("#id_project_owner", "Porteur")
    page.fill("#id_total_cost", "1 300 000,50")
    page.select_option("#id_fin-3-funder", "region")
    page.fill("#id_fin-3-amount", "12 000,50")
    page.press("#id_fin-3-amount", "Enter")  # Enter saves, it does not add a line
    page.wait_for_url(f"{url}/contrats/{contract.reference}/")
    action = ActionSheet.objects.get(contract=contract)
    assert [(line.funder, str(line.amount)) for line in action.financings.all()] == [
        ("region", "12000.50")
    ]

"""In real Chromium: a refused form puts the focus on its error summary, and an irreversible
action opens the DSFR dialog instead of posting; its confirm button acts."""

import pytest
from playwright.sync_api import expect

from cases.models import Case
from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_decision_takes_the_focus_to_its_error_summary(browser):
    chromium, url = browser
    derogation = factories.derogation_in_state("ministerial_review")
    page = logged_in(chromium, url, factories.ministry_agent())
    page.goto(f"{url}/derogations/{derogation.reference}/")
    page.select_option("#id_outcome", "granted")
    page.fill("#id_motivation", "Motivation tapée.")
    page.fill("#id_legal_basis", "Article 37-1 de la Constitution.")
    page.click("#decider button[type=submit]")
    summary = page.locator("#decide-errors")
    expect(summary).to_be_focused()
    expect(page.locator("#id_motivation")).to_have_value("Motivation tapée.")
    assert Case.objects.get(pk=derogation.pk).state == "ministerial_review"


def test_withdraw_opens_a_dialog_and_its_confirm_button_withdraws(browser):
    chromium, url = browser
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("draft", author=agent)
    page = logged_in(chromium, url, agent)
    page.goto(f"{url}/contrats/{contract.reference}/")
    page.fill("#transition-comment", "Projet abandonné.")
    page.click("button[value=withdraw]")
    dialog = page.locator("#confirm-withdraw")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Retirer le dossier {contract.reference}\u202f?")
    expect(page.locator("#confirm-withdraw-comment")).to_have_value("Projet abandonné.")
    assert Case.objects.get(pk=contract.pk).state == "draft"
    dialog.locator("button[type=submit]").click()
    expect(page.locator(".fr-alert--success")).to_contain_text("Retiré")
    assert Case.objects.get(pk=contract.pk).state == "withdrawn"

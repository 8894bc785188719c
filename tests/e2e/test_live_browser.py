"""In real Chromium: the Region reviewer's open page shows the bell count and a toast when
the EPCI agent submits in another browser context, and a case page refreshes its parts when
someone else changes the case, all without a reload."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_bell_and_toast_arrive_without_reload(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("draft", author=agent)
    watcher = logged_in(chromium, url, reviewer)
    expect(watcher.locator("#bell-count")).to_have_text("0")
    watcher.evaluate("window.__notReloaded = true")
    watcher.wait_for_timeout(500)  # lets the socket say hello before the change

    actor = logged_in(chromium, url, agent)
    actor.goto(f"{url}/contrats/{contract.reference}/")
    actor.click("button[value=submit]")
    expect(actor.locator(".fr-alert--success")).to_contain_text("Instruction régionale")

    expect(watcher.locator("#bell-count")).to_have_text("1", timeout=10_000)
    expect(watcher.locator("#toasts .toast")).to_contain_text(contract.reference, timeout=10_000)
    assert watcher.evaluate("window.__notReloaded") is True


def test_case_page_refreshes_when_someone_else_changes_it(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    watcher = logged_in(chromium, url, agent)
    watcher.goto(f"{url}/contrats/{contract.reference}/")
    watcher.evaluate("window.__notReloaded = true")
    watcher.wait_for_timeout(500)

    actor = logged_in(chromium, url, reviewer)
    actor.goto(f"{url}/contrats/{contract.reference}/")
    actor.fill("textarea[name=body]", "Merci de préciser le calendrier.")
    actor.click("#commentaires button[type=submit]")

    expect(watcher.locator("#case-changed")).to_contain_text(
        "Ce dossier a été modifié", timeout=10_000
    )
    expect(watcher.locator("#commentaires")).to_contain_text(
        "Merci de préciser le calendrier.", timeout=10_000
    )
    assert watcher.evaluate("window.__notReloaded") is True

"""In real Chromium: the Region reviewer's open page shows the bell count and a toast when
the EPCI agent submits in another browser context, and a case page refreshes its parts when
someone else changes the case, all without a reload."""

import os
import shutil

import pytest
from django.db import connection, connections
from playwright.sync_api import expect, sync_playwright

from tests import factories
from tests.support import uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "mot-de-passe-de-test"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, which this closed
# network refuses (and slows every start).
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(reference_data, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, which Django would otherwise refuse here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : installez le paquet chromium.")
    with uvicorn_server(connection.settings_dict["NAME"]) as url, sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium, url
        finally:
            chromium.close()
            # Under Playwright's loop the test's queries get a connection of their own:
            # closing it here lets the test database be dropped at the end.
            connections.close_all()


def logged_in(chromium, url, user):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{url}/connexion/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


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

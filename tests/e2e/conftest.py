"""The browser tests' shared parts: one Chromium on a uvicorn server of the test database."""

import os
import re
import shutil

import pytest
from django.db import connection, connections
from playwright.sync_api import sync_playwright

from tests.support import uvicorn_server

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


def logged_in(chromium, url, user, **context_options):
    context = chromium.new_context(**context_options)
    page = context.new_page()
    page.goto(f"{url}/connexion/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # The home, or the dashboard that is the steering committee's home.
    page.wait_for_url(re.compile(rf"^{re.escape(url)}/(tableau-de-bord/)?$"))
    return page

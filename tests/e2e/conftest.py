"""The browser tests' shared parts: one Chromium on a uvicorn server of the test database."""

import os
import re
import shutil
import time

import pytest
from django.db import connection, connections
from playwright.sync_api import sync_playwright

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


@pytest.fixture(scope="module")
def module_chromium(module_server):
    """One Chromium and one server for a module's browser tests, each test in contexts of its
    own. Playwright's sync API keeps an event loop in this thread for as long as it runs; the
    tests' own ORM calls (and their fixtures') are still plain synchronous code, which Django
    would otherwise refuse under it."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium introuvable ({CHROMIUM}) : installez le paquet chromium.")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as play:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # Under Playwright's loop the test's queries get a connection of their own:
            # closing it here lets the test database be dropped at the end.
            connections.close_all()


@pytest.fixture
def browser(reference_data, module_chromium, module_server):
    try:
        yield module_chromium, module_server
    finally:
        # What a test opened does not reach the next one (cookies, pages, sockets).
        for context in module_chromium.contexts:
            context.close()
        server_settled()


def server_settled(budget: float = 30.0) -> None:
    """Wait until the server has answered what a closed page had asked: the test's flush
    (TRUNCATE) deadlocked once with a request still running. Bounded, and never a failure:
    past the budget the flush goes ahead as before."""
    deadline = time.monotonic() + budget
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


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

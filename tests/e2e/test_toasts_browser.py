"""In real Chromium: a toast is a whole DSFR alert (its drawing kept), with a close button the
keyboard reaches, away from the page's action buttons, and it stays while the reader is on it;
on a phone the unread count shows beside « Menu » and follows the live count."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def submit(page, url, contract):
    page.goto(f"{url}/contrats/{contract.reference}/")
    page.click("button[value=submit]")
    expect(page.locator(".fr-alert--success")).to_contain_text("Instruction régionale")


def overlaps(a, b):
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_toast_is_a_closable_alert_away_from_the_decision_buttons(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    under_review = factories.contract_in_state("regional_review", author=agent)
    draft = factories.contract_in_state("draft", author=agent)
    watcher = logged_in(chromium, url, reviewer, viewport={"width": 1280, "height": 900})
    watcher.goto(f"{url}/contrats/{under_review.reference}/")
    watcher.wait_for_timeout(500)

    submit(logged_in(chromium, url, agent), url, draft)

    toast = watcher.locator("#toasts .toast")
    expect(toast).to_contain_text(draft.reference, timeout=10_000)
    # The DSFR draws the alert's icon and left border as background images.
    assert toast.evaluate("el => getComputedStyle(el).backgroundImage") != "none"
    box = toast.bounding_box()
    for button in watcher.locator("#decision button").all():
        assert not overlaps(box, button.bounding_box()), button.inner_text()

    close = toast.locator("button.fr-btn--close")
    close.focus()
    watcher.wait_for_timeout(9_000)  # past the toast's 8 s: focused, it stays
    expect(toast).to_have_count(1)
    watcher.keyboard.press("Enter")
    expect(toast).to_have_count(0)


def test_phone_shows_the_unread_count_beside_the_menu_button(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    draft = factories.contract_in_state("draft", author=agent)
    watcher = logged_in(chromium, url, reviewer, viewport={"width": 375, "height": 800})
    count = watcher.locator(".fr-header__navbar .bell-count")
    expect(count).to_be_visible()
    expect(count).to_have_text("0")
    watcher.wait_for_timeout(500)

    submit(logged_in(chromium, url, agent), url, draft)

    expect(count).to_have_text("1", timeout=10_000)
    expect(watcher.locator("#bell-count")).to_have_text("1")
    # The DSFR's copy of the header tools inside the mobile menu follows as well.
    expect(watcher.locator("#bell-count-mobile")).to_have_text("1")

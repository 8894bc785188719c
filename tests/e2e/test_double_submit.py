"""In real Chromium: a form posts once, however quickly its button is pressed again (a
double click on « Envoyer » made two comments, two audit events, two notifications each)."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)

SUBMIT_TWICE = """() => {
  const passed = [];
  // After the page's own listeners (on the document), what became of each submission.
  window.addEventListener("submit", (event) => passed.push(!event.defaultPrevented));
  const form = document.querySelector("#commentaires form");
  form.requestSubmit();
  form.requestSubmit();
  return passed;
}"""


def test_a_comment_sent_twice_in_a_row_is_posted_once(browser):
    chromium, url = browser
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("regional_review", author=agent)
    page = logged_in(chromium, url, agent)
    page.goto(f"{url}/contrats/{contract.reference}/")
    page.fill("#commentaires textarea[name=body]", "Le calendrier est joint.")
    assert page.evaluate(SUBMIT_TWICE) == [True, False]
    expect(page.locator("#commentaires")).to_contain_text("Le calendrier est joint.")
    assert contract.comments.count() == 1
    # Back on a page the browser kept, its form posts again.
    page.fill("#commentaires textarea[name=body]", "Et le plan de financement.")
    page.click("#commentaires button[type=submit]")
    expect(page.locator("#commentaires")).to_contain_text("Et le plan de financement.")
    assert contract.comments.count() == 2

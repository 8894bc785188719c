"""In real Chromium: when someone else changes the case, the open page shows the banner and
the new comment, but what the reader was typing (« Votre message », the decision comment)
stays as typed, and « Recharger » asks before it throws that away."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)


def comment_from(page, url, contract, text):
    page.goto(f"{url}/contrats/{contract.reference}/")
    page.fill("#commentaires textarea[name=body]", text)
    page.click("#commentaires button[type=submit]")
    expect(page.locator("#commentaires")).to_contain_text(text)


def watch(page, url, contract):
    page.goto(f"{url}/contrats/{contract.reference}/")
    page.evaluate("window.__notReloaded = true")
    page.wait_for_timeout(500)  # lets the socket say hello and watch the case


def test_typed_message_and_decision_comment_survive_a_live_refresh(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    watcher = logged_in(chromium, url, reviewer)
    watch(watcher, url, contract)
    message = watcher.locator("#commentaires textarea[name=body]")
    decision = watcher.locator("#transition-comment")
    message.fill("Je prépare une réponse détaillée")
    decision.fill("Le calendrier doit être précisé")
    message.focus()
    message.evaluate("el => el.setSelectionRange(3, 7)")

    comment_from(logged_in(chromium, url, agent), url, contract, "Le calendrier est joint.")

    expect(watcher.locator("#case-changed")).to_contain_text("Ce dossier a été modifié")
    expect(watcher.locator("#live-comments")).to_contain_text("Le calendrier est joint.")
    assert message.input_value() == "Je prépare une réponse détaillée"
    assert decision.input_value() == "Le calendrier doit être précisé"
    banner = watcher.locator("#case-changed")
    expect(banner).to_contain_text("Votre saisie en cours a été conservée")
    caret = "[document.activeElement.name, document.activeElement.selectionStart,"
    caret += " document.activeElement.selectionEnd]"
    assert watcher.evaluate(caret) == ["body", 3, 7]
    assert watcher.evaluate("window.__notReloaded") is True


def test_untouched_forms_refresh_and_reload_asks_before_erasing(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    watcher = logged_in(chromium, url, reviewer)
    watch(watcher, url, contract)
    watcher.evaluate("document.querySelector('#live-comment-form form').__old = true")
    decision = watcher.locator("#transition-comment")
    decision.fill("Brouillon de décision")

    comment_from(logged_in(chromium, url, agent), url, contract, "Voici le calendrier.")

    expect(watcher.locator("#live-comments")).to_contain_text("Voici le calendrier.")
    # The untouched comment form was swapped for the fresh one; the typed decision was not.
    assert watcher.evaluate("document.querySelector('#live-comment-form form').__old") is None
    assert decision.input_value() == "Brouillon de décision"

    watcher.once("dialog", lambda dialog: dialog.dismiss())
    watcher.click("#case-reload")
    watcher.wait_for_timeout(500)
    assert decision.input_value() == "Brouillon de décision"

    watcher.once("dialog", lambda dialog: dialog.accept())
    watcher.click("#case-reload")
    expect(decision).to_have_value("")
    expect(watcher.locator("#case-changed")).to_have_count(0)
    assert watcher.evaluate("document.activeElement.tagName") == "H1"
    assert watcher.evaluate("window.__notReloaded") is True


def test_region_opinion_being_written_survives_on_a_derogation_page(browser):
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    request = factories.derogation_in_state("regional_review", author=agent)
    page_path = f"{url}/derogations/{request.reference}/"
    watcher = logged_in(chromium, url, reviewer)
    watcher.goto(page_path)
    watcher.wait_for_timeout(500)
    watcher.select_option("#avis-region select[name=opinion]", index=1)
    watcher.fill("#avis-region textarea[name=reasons]", "Projet structurant pour la vallée")
    chosen = watcher.locator("#avis-region select[name=opinion]").input_value()

    actor = logged_in(chromium, url, agent)
    actor.goto(page_path)
    actor.fill("#commentaires textarea[name=body]", "Pièces complémentaires déposées.")
    actor.click("#commentaires button[type=submit]")

    expect(watcher.locator("#live-comments")).to_contain_text("Pièces complémentaires déposées.")
    assert watcher.locator("#avis-region select[name=opinion]").input_value() == chosen
    assert watcher.locator("#avis-region textarea[name=reasons]").input_value() == (
        "Projet structurant pour la vallée"
    )


def test_a_page_shown_back_after_a_refused_decision_still_refreshes(browser):
    """A refused decision comes back at the address it was posted to, which only takes a
    POST: the live refresh reads the case's own page, and the refused comment stays."""
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    watcher = logged_in(chromium, url, reviewer)
    watch(watcher, url, contract)
    # Rejecting without a comment is refused by the server (no confirmation is asked then).
    watcher.evaluate("document.querySelector('#transition-comment').removeAttribute('required')")
    watcher.evaluate("window.dsfr = undefined")
    watcher.click("button[value=reject]")
    expect(watcher.locator("#decision-errors")).to_be_visible()
    assert watcher.url.endswith(f"/contrats/{contract.reference}/decision/")
    watcher.locator("#transition-comment").fill("Le plan de financement est incomplet")
    watcher.wait_for_timeout(500)  # the new page's socket says hello and watches the case

    comment_from(logged_in(chromium, url, agent), url, contract, "Voici le plan complet.")

    expect(watcher.locator("#live-comments")).to_contain_text("Voici le plan complet.")
    expect(watcher.locator("#case-changed")).not_to_contain_text("L'actualisation a échoué")
    assert watcher.locator("#transition-comment").input_value() == (
        "Le plan de financement est incomplet"
    )


def test_a_comment_the_server_gave_back_survives_the_next_refresh(browser):
    """Refused as stale, the decision comment comes back in the page as the server's own
    text (its default value, not « typed »): the next refresh must still keep it."""
    chromium, url = browser
    agent, reviewer = factories.epci_agent("200000172"), factories.region_reviewer("84")
    contract = factories.contract_in_state("regional_review", author=agent)
    watcher = logged_in(chromium, url, reviewer)
    watch(watcher, url, contract)
    # The page was read before a change it missed: the server refuses it as stale.
    watcher.evaluate("document.querySelector('#decision input[name=version]').value = '1'")
    typed = "Le calendrier des fiches 2 et 3 doit être précisé"
    watcher.locator("#transition-comment").fill(typed)
    watcher.click("button[value=request_changes]")
    expect(watcher.locator("#decision-errors")).to_contain_text("vient d'être modifié")
    assert watcher.locator("#transition-comment").input_value() == typed
    watcher.wait_for_timeout(500)  # the new page's socket says hello and watches the case

    comment_from(logged_in(chromium, url, agent), url, contract, "Voici le calendrier.")

    expect(watcher.locator("#live-comments")).to_contain_text("Voici le calendrier.")
    assert watcher.locator("#transition-comment").input_value() == typed
    expect(watcher.locator("#decision-errors")).to_contain_text("vient d'être modifié")

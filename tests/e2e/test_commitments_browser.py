"""In real Chromium: an operator's agent opens a contract its organisation funds, commits
its line, and the contract page shows it « Engagé » with requested and committed apart;
declining asks first. axe-core finds nothing on the pages it goes through."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from cases.models import FinancingLine
from tests import factories
from tests.e2e.conftest import logged_in
from tests.e2e.test_accessibility import AXE, RUN_AXE

pytestmark = pytest.mark.django_db(transaction=True)


def axe_violations(page) -> list[str]:
    page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
    page.add_script_tag(path=str(AXE))
    return [f"{v['id']} — {v['help']} — {v['targets'][:3]}" for v in page.evaluate(RUN_AXE)]


def test_an_operator_commits_then_declines_its_line(browser):
    chromium, url = browser
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("regional_review", author=agent)
    line = FinancingLine.objects.get(action__contract=contract, funder="bpifrance")
    operator = factories.operator_agent("Bpifrance")
    page = logged_in(chromium, url, operator)
    detail = f"{url}/contrats/{contract.reference}/"
    page.goto(detail)
    assert axe_violations(page) == []
    expect(page.locator("#total-committed")).to_have_text("0,00\xa0€")
    page.locator(f"#ligne-{line.pk} a").click()
    page.wait_for_url(f"{detail}financements/{line.pk}/")
    assert axe_violations(page) == []
    expect(page.locator("#id_amount")).to_have_value("40 000,00")
    page.fill("#id_amount", "35 000,50")
    page.fill("#id_committed_on", "2019-06-01")
    page.fill("#id_note", "Prêt d'amorçage sous réserve du comité.")
    page.click("button[value=commit]")
    page.wait_for_url(f"{detail}#actions")
    expect(page.locator(f"#ligne-{line.pk}")).to_contain_text("Engagé")
    expect(page.locator(f"#ligne-{line.pk}")).to_contain_text("35\u202f000,50\xa0€")
    expect(page.locator("#total-requested")).to_have_text("40\u202f000,00\xa0€")
    expect(page.locator("#total-committed")).to_have_text("35\u202f000,50\xa0€")
    line.refresh_from_db()
    assert (line.status, line.committed_amount) == ("committed", Decimal("35000.50"))

    page.goto(f"{detail}financements/{line.pk}/")
    page.click("button[value=decline]")
    expect(page.locator("h1")).to_contain_text("Décliner le financement de Bpifrance")
    assert axe_violations(page) == []
    line.refresh_from_db()
    assert line.status == "committed"  # asked, not done
    page.click("text=Confirmer le refus")
    page.wait_for_url(f"{detail}#actions")
    expect(page.locator(f"#ligne-{line.pk}")).to_contain_text("Décliné")
    line.refresh_from_db()
    assert (line.status, line.committed_amount) == ("declined", None)


def test_the_epci_is_warned_before_changing_an_answered_line(browser):
    from cases.contracts import commitments
    from cases.kernel import services

    chromium, url = browser
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state("regional_review", author=agent)
    line = FinancingLine.objects.get(action__contract=contract, funder="bpifrance")
    commitments.financing_commit(
        line=line,
        actor=factories.operator_agent("Bpifrance"),
        amount=Decimal("40000"),
        committed_on=contract.submitted_at.date(),
        expected_version=factories.contract_version(contract),
    )
    services.case_request_changes(
        case=contract, actor=factories.region_reviewer("84"), comment="Précisez le calendrier."
    )
    page = logged_in(chromium, url, agent)
    page.goto(f"{url}/contrats/{contract.reference}/fiches/{line.action_id}/")
    expect(page.locator("#answered-0")).to_contain_text("Bpifrance a répondu")
    assert axe_violations(page) == []
    page.fill("#id_fin-0-amount", "45 000")
    page.press("#id_fin-0-amount", "Enter")  # Enter saves
    page.wait_for_url(f"{url}/contrats/{contract.reference}/")
    warning = page.locator(".fr-alert--warning[role=alert]")
    expect(warning).to_contain_text("remise à «\xa0Demandé\xa0»")
    line.refresh_from_db()
    assert (line.status, line.amount) == ("requested", Decimal("45000"))

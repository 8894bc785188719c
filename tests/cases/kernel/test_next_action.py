"""A case page says what to do next: the main button first, what blocks it and where to fix
it, the reviewer's request for changes; financing lines can be added; tasks show the case."""

from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from cases.kernel import services
from cases.models import ActionSheet, Case, TerritoryContract
from tests import factories
from workflows.engine import open_task_locked

pytestmark = pytest.mark.django_db


def action_post(contract, lines: int, **extra) -> dict:
    data = {
        "version": factories.contract_version(contract),
        "title": "Plateforme de décolletage",
        "axis": "innover",
        "project_owner": "Syndicat du décolletage",
        "total_cost": "1 250 000,50",
        "status": "idea",
        "fin-TOTAL_FORMS": str(lines),
        "fin-INITIAL_FORMS": "0",
    }
    funders = ["region", "bpifrance", "state", "epci", "banque_des_territoires", "other"]
    for index in range(lines):
        data[f"fin-{index}-funder"] = funders[index % len(funders)]
        data[f"fin-{index}-amount"] = f"{(index + 1) * 1000} 000"
    return {**data, **extra}


def test_add_line_shows_one_more_line_keeps_values_and_saves_nothing(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    version = factories.contract_version(contract)
    response = client.post(
        reverse("action-create", args=[contract.reference]),
        action_post(contract, 2, add_line="1"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="fin-TOTAL_FORMS" value="3"' in page
    assert 'name="fin-2-funder"' in page and 'name="fin-3-funder"' not in page
    assert 'value="Plateforme de décolletage"' in page
    assert 'value="1 250 000,50"' in page and 'value="2000 000"' in page
    assert '<option value="bpifrance" selected>' in page
    assert "Ajouter un financement" in page and 'name="add_line"' in page
    assert 'id="financing-empty"' in page and "fin-__prefix__-funder" in page
    assert "errorlist" not in page and "fr-error-text" not in page
    assert not ActionSheet.objects.filter(contract=contract).exists()
    assert factories.contract_version(contract) == version


def test_add_line_on_an_empty_form_gives_one_line(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]),
        {"fin-TOTAL_FORMS": "garbage", "add_line": "1"},
    )
    assert response.status_code == 200
    assert 'name="fin-TOTAL_FORMS" value="1"' in response.content.decode()


def test_five_financing_lines_are_saved(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]), action_post(contract, 5)
    )
    assert response.status_code == 302
    action = ActionSheet.objects.get(contract=contract)
    assert action.financings.count() == 5
    assert sorted(line.amount for line in action.financings.all())[-1] == Decimal("5000000")


def test_more_lines_than_the_sanity_cap_are_refused_in_french(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]), action_post(contract, 201)
    )
    assert response.status_code == 400
    assert "au plus 200 financements" in unescape(response.content.decode())
    assert not ActionSheet.objects.filter(contract=contract).exists()


def test_thirty_one_lines_are_no_longer_refused(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]), action_post(contract, 31)
    )
    assert response.status_code == 302
    assert ActionSheet.objects.get(contract=contract).financings.count() == 31


def button_positions(page: str, names: list[str]) -> list[int]:
    return [page.index(f'name="transition" value="{name}"') for name in names]


def test_sign_off_is_the_first_button_for_the_ministry(client):
    contract = factories.contract_in_state("ministerial_review")
    client.force_login(factories.ministry_agent())
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    sign_off, changes, reject = button_positions(page, ["sign_off", "request_changes", "reject"])
    assert sign_off < changes < reject


def test_approve_comes_before_sending_back_for_the_region(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    approve, changes, reject = button_positions(page, ["approve", "request_changes", "reject"])
    assert approve < changes < reject


def test_blocked_submit_is_disabled_with_what_is_missing_and_where(client):
    contract = factories.contract_in_state("draft", actions=0)
    TerritoryContract.objects.filter(pk=contract.pk).update(
        title="", period_start=None, period_end=None
    )
    client.force_login(contract.created_by)
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    decision = page[page.index('id="decision"') :]
    assert (
        '<button class="fr-btn" type="button" disabled aria-describedby="missing-submit"'
        in decision
    )
    missing = decision[decision.index('id="missing-submit"') : decision.index("</ul>")]
    assert "aucune fiche-action" in missing and "intitulé" in missing and "période" in missing
    assert f'href="{reverse("action-create", args=[contract.reference])}"' in missing
    assert f'href="{reverse("contract-edit", args=[contract.reference])}"' in missing
    assert 'value="submit"' not in page
    # The withdraw button stays available, after the blocked one.
    assert decision.index("missing-submit") < decision.index('value="withdraw"')


def test_blocked_forward_points_to_the_region_opinion(client):
    request = factories.derogation_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    page = client.get(reverse("derogation-detail", args=[request.reference])).content.decode()
    assert 'disabled aria-describedby="missing-forward"' in page
    assert f'href="{reverse("derogation-detail", args=[request.reference])}#avis-region"' in page


def test_request_for_changes_is_shown_at_the_top_until_resubmitted(client):
    contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    services.case_request_changes(
        case=contract, actor=reviewer, comment="Précisez le calendrier de la fiche 1."
    )
    client.force_login(contract.created_by)
    detail = reverse("contract-detail", args=[contract.reference])
    page = unescape(client.get(detail).content.decode())
    assert "Modifications demandées par" in page
    assert "Précisez le calendrier de la fiche 1." in page
    assert "Région" in page[page.index("Modifications demandées") :][:300]
    assert page.index('id="changes-requested"') < page.index('id="decision"')
    assert page.index('id="changes-requested"') < page.index('id="info-title"')
    contract.refresh_from_db()
    services.case_submit(case=contract, actor=contract.created_by)
    assert 'id="changes-requested"' not in client.get(detail).content.decode()


def test_no_request_for_changes_banner_on_a_fresh_draft(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    assert 'id="changes-requested"' not in page


def test_task_page_shows_the_contract_before_the_decision(client):
    contract = factories.contract_in_state("regional_review", actions=2)
    task = open_task_locked(Case.objects.get(pk=contract.pk))
    client.force_login(factories.region_reviewer("84"))
    page = client.get(reverse("task-detail", args=[task.pk])).content.decode()
    assert "Fiche-action 1" in page and "Fiche-action 2" in page
    assert "Bpifrance" in page and "200\u202f000,00\u00a0€" in page  # the totals
    assert "Binôme élu" in page and "Période" in page
    assert page.index("Fiche-action 1") < page.index('name="transition" value="approve"')


def test_task_page_shows_the_derogation_before_the_decision(client):
    request = factories.derogation_in_state("regional_review")
    task = open_task_locked(Case.objects.get(pk=request.pk))
    client.force_login(factories.region_reviewer("84"))
    page = unescape(client.get(reverse("task-detail", args=[task.pk])).content.decode())
    assert "Dispense d'étude d'impact" in page and "40 embauches" in page
    assert page.index("Dispense d'étude d'impact") < page.index('value="request_changes"')

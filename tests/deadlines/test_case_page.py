"""The deadlines on a case page: the stage's date, the legal date, days left, pauses."""

import re
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.kernel import services
from tests import factories

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


def at(*args):
    return time_machine.travel(datetime(*args, 10, 0, tzinfo=PARIS), tick=False)


def visible(body: str) -> str:
    """The case's deadline block as read: tags dropped, spaces collapsed (not the no-break
    ones), entities decoded."""
    start = body.find('id="case-clock"')
    if start < 0:
        return ""
    block = body[start : body.index("</div>", start)]
    return re.sub(r"[ \n]+", " ", unescape(re.sub(r"<[^>]+>", "", block)))


def page(client, user, contract) -> str:
    client.force_login(user)
    return visible(client.get(f"/contrats/{contract.reference}/").content.decode())


def test_a_submitted_contract_shows_when_its_answer_is_due(client, reference_data):
    with at(2026, 4, 30):
        contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    with at(2026, 6, 5):
        body = page(client, reviewer, contract)
    assert (
        f"Réponse attendue au plus tard le mercredi 17{NBSP}juin 2026 "
        f"(instruction régionale), dans 12{NBSP}jours." in body
    )
    assert f"Délai légal{NBSP}: mardi 30{NBSP}juin 2026, dans 25{NBSP}jours." in body
    assert "n'emporte pas de décision" in body
    assert f"Reçu le 30{NBSP}avril 2026." in body
    assert "Bientôt dû" not in body and "En retard" not in body
    with at(2026, 6, 15):
        assert "Bientôt dû" in page(client, reviewer, contract)
    with at(2026, 6, 18):
        body = page(client, reviewer, contract)
    assert "En retard" in body and f"en retard de 1{NBSP}jour." in body


def test_a_pause_is_shown_while_it_lasts_then_listed(client, reference_data):
    with at(2026, 4, 1):
        contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    with at(2026, 4, 28):
        services.run_transition(
            case=contract, actor=reviewer, name="request_changes", comment="Précisez."
        )
        body = page(client, reviewer, contract)
    assert f"Délai suspendu depuis le 28{NBSP}avril 2026{NBSP}: des compléments" in body
    assert "Réponse attendue" not in body
    with at(2026, 5, 6):
        services.run_transition(case=contract, actor=contract.created_by, name="submit")
        body = page(client, reviewer, contract)
    assert f"Suspensions{NBSP}: du 28{NBSP}avril 2026 au 6{NBSP}mai 2026." in body
    # 1 June + 8 days of pause.
    assert f"Délai légal{NBSP}: mardi 9{NBSP}juin 2026" in body


def test_a_legal_date_on_a_day_off_says_it_was_moved(client, reference_data):
    with at(2025, 12, 31):
        derogation = factories.derogation_in_state("regional_review")
    client.force_login(derogation.created_by)
    with at(2026, 1, 5):
        body = visible(client.get(f"/derogations/{derogation.reference}/").content.decode())
    assert f"Délai légal{NBSP}: lundi 2{NBSP}mars 2026" in body
    assert f"Le délai finit le samedi 28{NBSP}février 2026, jour non ouvré" in body
    assert "réputée rejetée" in body


def test_a_draft_and_a_withdrawn_case_show_no_deadline(client, reference_data):
    draft = factories.contract_in_state("draft")
    assert page(client, draft.created_by, draft) == ""
    withdrawn = factories.contract_in_state("withdrawn")
    assert page(client, withdrawn.created_by, withdrawn) == ""

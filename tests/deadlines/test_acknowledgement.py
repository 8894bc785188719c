"""The acknowledgement of receipt: written at each submission, in the audit chain, given as
a PDF to whoever may see the case and to nobody else."""

import hashlib
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from pypdf import PdfReader

from cases.kernel import services
from cases.models import CaseEvent
from deadlines.models import Acknowledgement
from tests import factories

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def submitted_on(year, month, day, **kwargs):
    with time_machine.travel(datetime(year, month, day, 14, 30, tzinfo=PARIS), tick=False):
        return factories.derogation_in_state("regional_review", **kwargs)


def test_a_submission_is_acknowledged_with_its_dates_and_its_service(reference_data):
    derogation = submitted_on(2025, 12, 31)
    (acknowledgement,) = Acknowledgement.objects.filter(case=derogation)
    text = pdf_text(bytes(acknowledgement.content))
    assert "Accusé de réception" in text
    assert derogation.reference in text
    assert "Date de réception : 31 décembre 2025 à 14 h 30" in text
    assert "Service chargé de l'instruction : Région Auvergne-Rhône-Alpes" in text
    # 28 February 2026 is a Saturday: silence is a refusal on Monday 2 March.
    assert "À défaut de réponse au 2 mars 2026, votre demande sera réputée rejetée." in text
    assert "tribunal administratif" in text
    assert acknowledgement.silence_on.isoformat() == "2026-03-02"


def test_its_hash_is_in_the_audit_chain_which_stays_whole(reference_data):
    derogation = submitted_on(2026, 4, 1)
    acknowledgement = Acknowledgement.objects.get(case=derogation)
    event = CaseEvent.objects.get(case=derogation, name="acknowledgement")
    content = bytes(acknowledgement.content)
    assert event.payload["sha256"] == hashlib.sha256(content).hexdigest() == acknowledgement.sha256
    assert event.payload["size"] == len(content)
    # Raises CommandError on a broken chain.
    call_command("verify_audit")
    assert event.seq == derogation.events.filter(name="submit").get().seq + 1


def test_a_contract_acknowledgement_says_silence_decides_nothing(reference_data):
    with time_machine.travel(datetime(2026, 4, 30, 9, 0, tzinfo=PARIS), tick=False):
        contract = factories.contract_in_state("regional_review")
    text = pdf_text(bytes(Acknowledgement.objects.get(case=contract).content))
    assert "n'emporte pas de décision" in text
    assert "réputée" not in text


def test_each_submission_is_acknowledged_again(reference_data):
    contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    services.run_transition(case=contract, actor=reviewer, name="request_changes", comment="Non.")
    assert Acknowledgement.objects.filter(case=contract).count() == 1
    services.run_transition(case=contract, actor=contract.created_by, name="submit")
    assert Acknowledgement.objects.filter(case=contract).count() == 2


def test_the_pdf_is_for_the_case_parties_only(client, reference_data):
    contract = factories.contract_in_state("regional_review")
    acknowledgement = Acknowledgement.objects.get(case=contract)
    url = f"/accuses-de-reception/{acknowledgement.pk}.pdf"
    client.force_login(contract.created_by)
    page = client.get(f"/contrats/{contract.reference}/").content.decode()
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert bytes(response.content) == bytes(acknowledgement.content)
    for outsider in (
        factories.epci_agent("200000438"),  # another EPCI, another Region
        factories.region_reviewer("52"),
    ):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302

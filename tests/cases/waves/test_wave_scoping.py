"""A wave spans several territories: each party reads only its own territory's contract, in
the wave page, the exports and the PDF. National roles read them all."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from cases.models import ActionSheet, FinancingLine, WaveDocument
from cases.waves import selectors as wave_selectors
from cases.waves import services as waves
from tests import factories

pytestmark = pytest.mark.django_db

# Two territories piloted by Auvergne-Rhône-Alpes (84), one by Bourgogne-Franche-Comté (27).
ARDECHE, BIEVRE, CHALON = "8401", "8402", "2702"
COSTS = {ARDECHE: Decimal("710001.11"), BIEVRE: Decimal("720002.22"), CHALON: Decimal("730003.33")}
FINANCING = {
    ARDECHE: Decimal("610001.11"),
    BIEVRE: Decimal("620002.22"),
    CHALON: Decimal("630003.33"),
}


@dataclass
class Secrets:
    """What only the parties of one territory may read."""

    reference: str
    title: str
    action: str
    owner: str
    amounts: list[Decimal]
    derogation: str = ""

    def words(self) -> list[str]:
        return [
            w for w in (self.reference, self.title, self.action, self.owner, self.derogation) if w
        ]


def digits(amount: Decimal) -> str:
    return re.sub(r"\D", "", f"{amount:.2f}")


def flat(text: str) -> str:
    """The text with every separator of figures taken out, so that 710 001,11 € and 710001.11
    both read 71000111."""
    return re.sub(r"[\s\u00a0\u202f.,']", "", text)


def contract_of(code: str):
    contract = factories.contract_in_state("signed_off", territory_code=code)
    ActionSheet.objects.filter(contract=contract).update(
        title=f"Fiche secrète {code}", project_owner=f"Porteur {code} SAS", total_cost=COSTS[code]
    )
    FinancingLine.objects.filter(action__contract=contract).update(amount=FINANCING[code])
    return contract


def granted_derogation(code: str, minister):
    request = factories.derogation_in_state("ministerial_review", territory_code=code)
    factories.grant(request, minister)
    return request


@pytest.fixture
def wave_of_three():
    minister = factories.ministry_agent()
    contracts = {code: contract_of(code) for code in (ARDECHE, BIEVRE, CHALON)}
    derogation = granted_derogation(CHALON, minister)
    wave = waves.wave_create(
        actor=minister, name="Vague mixte", date=date(2019, 3, 5), place="Lyon"
    )
    for contract in contracts.values():
        waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
    secrets = {
        code: Secrets(
            reference=contract.reference,
            title=contract.title,
            action=f"Fiche secrète {code}",
            owner=f"Porteur {code} SAS",
            amounts=[COSTS[code], FINANCING[code]],
        )
        for code, contract in contracts.items()
    }
    secrets[CHALON].derogation = derogation.reference
    wave.refresh_from_db()
    return wave, minister, contracts, secrets


def epci_agent_of(contract):
    return factories.epci_agent(contract.territory.intercommunalities.order_by("siren")[0].siren)


VIEWERS = {
    # viewer -> the territories whose contracts they may read
    "EPCI agent of Ardèche": (lambda c: epci_agent_of(c[ARDECHE]), {ARDECHE}),
    "EPCI agent of Bièvre (same Region)": (lambda c: epci_agent_of(c[BIEVRE]), {BIEVRE}),
    "EPCI agent of Chalon (other Region)": (lambda c: epci_agent_of(c[CHALON]), {CHALON}),
    "reviewer of Auvergne-Rhône-Alpes": (
        lambda c: factories.region_reviewer("84"),
        {ARDECHE, BIEVRE},
    ),
    "reviewer of Bourgogne-Franche-Comté": (lambda c: factories.region_reviewer("27"), {CHALON}),
    "ministry agent": (lambda c: factories.ministry_agent(), {ARDECHE, BIEVRE, CHALON}),
    "steering committee member": (
        lambda c: factories.steering_member(),
        {ARDECHE, BIEVRE, CHALON},
    ),
}


def page_text(client, wave) -> str:
    response = client.get(reverse("wave-detail", args=[wave.pk]))
    assert response.status_code == 200
    return response.content.decode()


def csv_text(client, wave) -> str:
    response = client.get(reverse("wave-export", args=[wave.pk, "csv"]))
    assert response.status_code == 200
    rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    return "\n".join(" | ".join(row) for row in rows)


def xlsx_text(client, wave) -> str:
    response = client.get(reverse("wave-export", args=[wave.pk, "xlsx"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = [
        f"{value:.2f}" if isinstance(value, (float, Decimal)) else str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    return "\n".join(cells)


def pdf_text(client, wave) -> str:
    response = client.get(reverse("wave-document", args=[wave.pk]))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def assert_scoped(text: str, secrets: dict[str, Secrets], sees: set[str], where: str) -> None:
    flattened = flat(text)
    for code, secret in secrets.items():
        present = [w for w in secret.words() if w in text] + [
            str(a) for a in secret.amounts if digits(a) in flattened
        ]
        if code in sees:
            assert secret.reference in text, f"{where}: own {secret.reference} missing"
        else:
            assert present == [], f"{where}: {code}'s {present} shown"
    if len(sees) < len(secrets):
        # The totals are of the visible contracts only: the whole wave's would tell the rest.
        whole = sum(COSTS.values(), Decimal("0"))
        assert digits(whole) not in flattened, f"{where}: the whole wave's total shown"


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("validated", [False, True], ids=["planned", "validated"])
def test_each_party_reads_only_its_territories_in_a_wave(client, wave_of_three, viewer, validated):
    wave, minister, contracts, secrets = wave_of_three
    if validated:
        waves.wave_validate(wave=wave, actor=minister)
    make, sees = VIEWERS[viewer]
    user = make(contracts)
    client.force_login(user)
    readers = {"page": page_text, "csv": csv_text, "xlsx": xlsx_text}
    if validated:
        readers["pdf"] = pdf_text
    for where, read in readers.items():
        assert_scoped(read(client, wave), secrets, sees, where)
    if not validated:
        assert client.get(reverse("wave-document", args=[wave.pk])).status_code == 404
    listed = wave_selectors.wave_list_for_user(user).get(pk=wave.pk)
    assert listed.contract_count == len(sees)


def test_national_roles_get_the_stored_pdf_the_others_one_of_their_own(client, wave_of_three):
    wave, minister, contracts, secrets = wave_of_three
    waves.wave_validate(wave=wave, actor=minister)
    stored = WaveDocument.objects.get(wave=wave).file.read()
    client.force_login(factories.steering_member())
    assert client.get(reverse("wave-document", args=[wave.pk])).content == stored
    client.force_login(epci_agent_of(contracts[CHALON]))
    own = client.get(reverse("wave-document", args=[wave.pk])).content
    assert own != stored
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(own)).pages)
    assert secrets[CHALON].derogation in text and "1 contrat(s)" in text


def test_a_wave_of_others_only_is_not_found(client, wave_of_three):
    wave, minister, _contracts, _secrets = wave_of_three
    waves.wave_validate(wave=wave, actor=minister)
    client.force_login(factories.region_reviewer("53"))
    for url in (
        reverse("wave-detail", args=[wave.pk]),
        reverse("wave-export", args=[wave.pk, "csv"]),
        reverse("wave-export", args=[wave.pk, "xlsx"]),
        reverse("wave-document", args=[wave.pk]),
    ):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("validated", [False, True], ids=["planned", "validated"])
def test_an_operator_reads_the_contracts_it_funds_not_their_territories_derogations(
    client, wave_of_three, validated
):
    """Bpifrance funds the three contracts, so reads them; the derogation granted to
    Chalon's territory is no case of Bpifrance's (its page is a 404 to it): it is absent."""
    wave, minister, _contracts, secrets = wave_of_three
    if validated:
        waves.wave_validate(wave=wave, actor=minister)
    client.force_login(factories.operator_agent("Bpifrance"))
    derogation = secrets[CHALON].derogation
    assert client.get(reverse("derogation-detail", args=[derogation])).status_code == 404
    readers = {"page": page_text, "pdf": pdf_text} if validated else {"page": page_text}
    for where, read in readers.items():
        text = read(client, wave)
        assert all(s.reference in text for s in secrets.values()), where
        assert derogation not in text, f"{where}: {derogation} shown"

"""Contractualisation waves: all the contracts of a wave, or none."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from cases.kernel import services
from cases.kernel.audit import verify_case
from cases.models import Case, CaseEvent, DerogationRequest, Wave, WaveDocument
from cases.waves import services as waves
from cases.waves.audit import verify_wave
from cases.waves.documents import EXPORT_HEADER, export_csv, export_rows, export_xlsx
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db


def snapshot(wave):
    contracts = waves.contracts_of(wave)
    return {
        "cases": sorted(
            Case.objects.filter(pk__in=contracts).values_list("pk", "state", "event_count")
        ),
        "wave": Wave.objects.values_list("state", "version", "event_count").get(pk=wave.pk),
        "documents": WaveDocument.objects.filter(wave=wave).count(),
        "notifications": Notification.objects.count(),
    }


def test_validating_a_wave_contractualises_every_contract_with_its_audit():
    wave, minister = factories.wave_of(4)
    validated = waves.wave_validate(wave=wave, actor=minister)
    assert validated.state == "validated"
    contracts = list(waves.contracts_of(wave))
    assert len(contracts) == 4
    for contract in contracts:
        assert contract.state == "contractualised" and contract.contractualised_at
        event = CaseEvent.objects.get(case=contract, name="contractualise")
        assert (event.from_state, event.to_state, event.payload["wave"]) == (
            "signed_off",
            "contractualised",
            wave.pk,
        )
        assert verify_case(contract) is None
        told = Notification.objects.filter(event=event).values_list("recipient", flat=True)
        assert contract.created_by_id in set(told)
    last = wave.events.order_by("-seq").first()
    assert last.name == "validate"
    assert sorted(last.payload["contracts"]) == sorted(c.reference for c in contracts)
    document = WaveDocument.objects.get(wave=wave)
    content = document.file.read()
    assert last.payload["document"]["sha256"] == document.sha256
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert all(c.reference in text for c in contracts) and "Lyon" in text
    assert verify_wave(Wave.objects.get(pk=wave.pk)) is None


def test_granted_derogations_are_contractualised_with_their_contract():
    wave, minister = factories.wave_of(1)
    contract = waves.contracts_of(wave).get()
    request = factories.derogation_in_state(
        "ministerial_review", territory_code=contract.territory.code
    )
    factories.grant(request, minister)
    assert DerogationRequest.objects.get(pk=request.pk).contract_id == contract.pk
    waves.wave_validate(wave=wave, actor=minister)
    assert DerogationRequest.objects.get(pk=request.pk).state == "contractualised"
    assert wave.events.order_by("-seq").first().payload["derogations"] == [request.reference]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_a_failure_at_the_kth_contract_changes_nothing(monkeypatch, k):
    wave, minister = factories.wave_of(5)
    before = snapshot(wave)
    real = waves.case_contractualise
    calls = []

    def failing(*, case, **kwargs):
        calls.append(case.pk)
        if len(calls) == k:
            raise RuntimeError(f"panne au contrat {case.reference}")
        return real(case=case, **kwargs)

    monkeypatch.setattr(waves, "case_contractualise", failing)
    with pytest.raises(RuntimeError, match="panne au contrat"):
        waves.wave_validate(wave=wave, actor=minister)
    assert snapshot(wave) == before
    assert len(calls) == k


def test_a_contract_that_fails_its_checks_is_named_and_nothing_changes():
    wave, minister = factories.wave_of(3)
    broken = waves.contracts_of(wave)[1]
    # A contract that left "signed_off" behind the wave's back (say, repaired by hand).
    Case.objects.filter(pk=broken.pk).update(state="ministerial_review")
    before = snapshot(wave)
    with pytest.raises(waves.WaveValidationFailed) as error:
        waves.wave_validate(wave=wave, actor=minister)
    assert "rien n'a changé" in error.value.message
    assert len(error.value.problems) == 1 and broken.reference in error.value.problems[0]
    assert "Validation ministérielle" in error.value.problems[0]
    assert snapshot(wave) == before


def test_a_validated_or_cancelled_wave_is_refused():
    wave, minister = factories.wave_of(1)
    waves.wave_validate(wave=wave, actor=minister)
    with pytest.raises(services.ActionNotPossible, match="validée"):
        waves.wave_validate(wave=wave, actor=minister)
    other, _ = factories.wave_of(0, name="Autre vague")
    waves.wave_cancel(wave=other, actor=minister)
    with pytest.raises(services.ActionNotPossible, match="annulée"):
        waves.wave_validate(wave=other, actor=minister)


@pytest.mark.parametrize(
    "who",
    [
        lambda: factories.epci_agent("200000172"),
        lambda: factories.region_reviewer("84"),
        factories.operator_agent,
        factories.steering_member,
    ],
)
def test_only_ministry_agents_compose_or_validate(who):
    wave, _ = factories.wave_of(1)
    actor = who()
    spare = factories.contract_in_state("signed_off")
    before = snapshot(wave)
    for attempt in (
        lambda: waves.wave_create(actor=actor, name="X", date=date(2019, 3, 18), place="Paris"),
        lambda: waves.wave_add_contract(wave=wave, actor=actor, contract=spare),
        lambda: waves.wave_remove_contract(
            wave=wave, actor=actor, contract=waves.contracts_of(wave)[0]
        ),
        lambda: waves.wave_validate(wave=wave, actor=actor),
        lambda: waves.wave_cancel(wave=wave, actor=actor),
    ):
        with pytest.raises(services.ActionForbidden):
            attempt()
    assert snapshot(wave) == before


def test_a_contract_is_in_one_planned_wave_at_most():
    wave, minister = factories.wave_of(1)
    contract = waves.contracts_of(wave).get()
    other = waves.wave_create(
        actor=minister, name="Semaine de l'industrie", date=date(2019, 3, 18), place="Paris"
    )
    with pytest.raises(services.ActionNotPossible, match="déjà dans la vague"):
        waves.wave_add_contract(wave=other, actor=minister, contract=contract)
    draft = factories.contract_in_state("draft")
    with pytest.raises(services.ActionNotPossible, match="n'est pas validé"):
        waves.wave_add_contract(wave=other, actor=minister, contract=draft)
    waves.wave_cancel(wave=wave, actor=minister)
    waves.wave_add_contract(wave=other, actor=minister, contract=contract)


def test_exports_hold_every_financing_line_and_the_totals():
    wave, _ = factories.wave_of(2)
    contracts = list(waves.contracts_of(wave))
    rows = export_rows(contracts)
    # contract_in_state gives each contract one fiche of 100 000 € with one 40 000 € line.
    assert len(rows) == 2
    parsed = list(csv.reader(io.StringIO(export_csv(rows).decode("utf-8-sig")), delimiter=";"))
    assert parsed[0] == EXPORT_HEADER
    assert {row[0] for row in parsed[1:]} == {c.reference for c in contracts}
    assert sum(Decimal(row[11].replace(",", ".")) for row in parsed[1:]) == Decimal("80000")
    sheet = load_workbook(io.BytesIO(export_xlsx(rows, "Vague"))).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == EXPORT_HEADER
    assert sum(Decimal(str(row[9])) for row in values[1:]) == Decimal("200000")
    by_axis, by_funder = waves.totals(contracts)
    assert dict(by_axis)["Innover"] == Decimal("200000.00")
    assert by_funder == [("Bpifrance", Decimal("80000.00"), Decimal("0"))]


def test_text_that_looks_like_a_formula_stays_text():
    contract = factories.contract_in_state("signed_off")
    contract.actions.update(title='=HYPERLINK("http://example.test")')
    rows = export_rows([contract])
    assert "'=HYPERLINK" in export_csv(rows).decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(export_xlsx(rows, "Vague"))).active
    cell = sheet.cell(row=2, column=6)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_the_wave_shows_money_requested_and_committed_apart(client):
    from cases.contracts import commitments
    from cases.models import FinancingLine

    wave, minister = factories.wave_of(2)
    line = FinancingLine.objects.filter(action__contract__wave_items__wave=wave).first()
    contract = Case.objects.get(pk=line.action.contract_id)
    commitments.financing_commit(
        line=line,
        actor=factories.operator_agent("Bpifrance"),
        amount=Decimal("25000"),
        committed_on=date(2019, 3, 1),
        expected_version=contract.version,
    )
    _, by_funder = waves.totals(list(waves.contracts_of(wave)))
    assert by_funder == [("Bpifrance", Decimal("80000.00"), Decimal("25000.00"))]
    client.force_login(minister)
    page = client.get(f"/vagues/{wave.pk}/").content.decode()
    table = page[page.index('id="wave-funders"') :]
    row = table[table.index("<td>Bpifrance") :]
    row = row[: row.index("</tr>")]
    assert "80\u202f000,00\xa0€" in row and "25\u202f000,00\xa0€" in row

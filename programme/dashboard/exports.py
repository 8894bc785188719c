"""Each dashboard block as a table in long form (one row per finest group), to CSV or XLSX:
French headers, amounts as numbers (numeric cells in XLSX, « 1234,50 » in CSV)."""

import csv
import io
from collections.abc import Callable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from cases.models import STATE_LABELS
from programme.dashboard.stats import (
    ACTION_STATUS_LABELS,
    AXIS_LABELS,
    CONTRACT_STATES,
    FUNDER_LABELS,
    OUTCOME_LABELS,
)

Rows = tuple[list[str], list[list]]


def territories(figures: dict) -> Rows:
    header = [
        "Région",
        "Code INSEE de la Région",
        "Territoires",
        "Territoires ayant un contrat",
        "Territoires contractualisés",
        "Contrats",
        *[f"Contrats — {str(STATE_LABELS[state]).lower()}" for state in CONTRACT_STATES],
    ]
    rows = [
        [
            row["name"],
            row["code"],
            row["territories"],
            row["with_contract"],
            row["contractualised"],
            row["contracts"],
            *[row["states"][state] for state in CONTRACT_STATES],
        ]
        for row in figures["territories"]["by_region"]
    ]
    return header, rows


def waves(figures: dict) -> Rows:
    header = ["Vague", "Date", "État", "Contrats", "Contractualisés", "Territoires contractualisés"]
    rows = [
        [
            row["name"],
            row["date"],
            row["state_label"],
            row["contracts"],
            row["contractualised"],
            row["territories"],
        ]
        for row in figures["waves"]
    ]
    return header, rows


def actions(figures: dict) -> Rows:
    header = ["Région", "Code INSEE de la Région", "Axe", "Statut", "Fiches-actions", "Coût (€)"]
    rows = [
        [
            row["name"],
            row["code"],
            str(AXIS_LABELS[row["axis"]]),
            str(ACTION_STATUS_LABELS[row["status"]]),
            row["count"],
            row["cost"],
        ]
        for row in figures["actions"]["rows"]
    ]
    return header, rows


def money(figures: dict) -> Rows:
    header = [
        "Région",
        "Code INSEE de la Région",
        "Axe",
        "Financeur",
        "Lignes de financement",
        "Lignes engagées",
        "Demandé (€)",
        "Engagé (€)",
    ]
    rows = [
        [
            row["name"],
            row["code"],
            str(AXIS_LABELS[row["axis"]]),
            str(FUNDER_LABELS.get(row["funder"], row["funder"])),
            row["lines"],
            row["committed_lines"],
            row["requested"],
            row["committed"],
        ]
        for row in figures["money"]["rows"]
    ]
    return header, rows


def derogations(figures: dict) -> Rows:
    header = ["Région", "Code INSEE de la Région", "État", "Décision", "Demandes"]
    rows = [
        [
            row["name"],
            row["code"],
            str(STATE_LABELS.get(row["state"], row["state"])),
            str(OUTCOME_LABELS.get(row["outcome"], "")),
            row["count"],
        ]
        for row in figures["derogations"]["rows"]
    ]
    return header, rows


def rules(figures: dict) -> Rows:
    header = ["Texte visé", "Clé de regroupement", "Demandes"]
    rows = [[row["reference"], row["key"], row["count"]] for row in figures["derogations"]["rules"]]
    return header, rows


def durations(figures: dict) -> Rows:
    header = ["Dossiers", "Étape", "Étapes quittées", "Médiane (jours)", "90e centile (jours)"]
    rows = [
        [row["kind_label"], row["label"], row["count"], row["median"], row["p90"]]
        for row in figures["time"]["stages"]
    ]
    return header, rows


def due(figures: dict) -> Rows:
    header = [
        "Région",
        "Code INSEE de la Région",
        "Dossiers",
        "Étape",
        "En cours",
        "En retard",
        "Bientôt dus",
    ]
    rows = [
        [
            row["name"],
            row["code"],
            row["kind_label"],
            row["label"],
            row["open"],
            row["late"],
            row["soon"],
        ]
        for row in figures["due"]["rows"]
    ]
    return header, rows


BLOCKS: dict[str, tuple[str, Callable[[dict], Rows]]] = {
    "territoires": ("Territoires par Région", territories),
    "vagues": ("Contrats par vague", waves),
    "fiches": ("Fiches-actions", actions),
    "financements": ("Financements", money),
    "derogations": ("Demandes de dérogation", derogations),
    "textes": ("Textes visés", rules),
    "delais": ("Délais par étape", durations),
    "echeances": ("Échéances par Région", due),
}
AMOUNT_FORMAT = '#,##0.00 "€"'


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, float):
        return f"{value}".replace(".", ",")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    # A cell starting like a formula is run by spreadsheets: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(rows: Rows) -> bytes:
    header, body = rows
    buffer = io.StringIO()
    # Semicolons and a BOM: what French spreadsheet software opens without asking.
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    for row in body:
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Rows, title: str) -> bytes:
    header, body = rows
    # Write-only: rows are streamed, several times faster on the thousands of rows of a
    # national block than building the sheet in memory.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    for row in body:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if cell.data_type == "f":
                # openpyxl takes text starting with "=" for a formula: user text stays text.
                cell.data_type = "s"
            elif isinstance(value, Decimal):
                cell.number_format = AMOUNT_FORMAT
            cells.append(cell)
        sheet.append(cells)
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

"""What a wave produces: the PDF of the validated wave, and CSV and XLSX exports of its
contracts with their fiches-actions and financing."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.contracts.models import Axis, Funder
from cases.derogations.letters import french_date, markup
from cases.kernel.french import euros


@dataclass(frozen=True, kw_only=True)
class WaveLine:
    reference: str
    title: str
    territory: str
    region: str
    signatories: str
    actions: int
    total_cost: Decimal


@dataclass(frozen=True, kw_only=True)
class WaveSummary:
    name: str
    held_on: date
    place: str
    validated_on: date
    validated_by: str
    lines: list[WaveLine]
    by_axis: list[tuple[str, Decimal]]
    by_funder: list[tuple[str, Decimal, Decimal]]
    derogations: list[str]


def render_wave_pdf(summary: WaveSummary) -> bytes:
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11)
    bold = ParagraphStyle("bold", parent=body, fontName="Helvetica-Bold", fontSize=12, leading=15)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    story: list[Flowable] = [
        Paragraph(markup("République française — Ministère chargé de l'industrie"), bold),
        Paragraph(markup("Programme Territoires d'industrie — vague de contractualisation"), body),
        Spacer(1, 6 * mm),
        Paragraph(
            markup(f"{summary.name} — {summary.place}, {french_date(summary.held_on)}"), bold
        ),
        Paragraph(
            markup(
                f"Validée le {french_date(summary.validated_on)} par {summary.validated_by} : "
                f"{len(summary.lines)} contrat(s) de territoire contractualisé(s)."
            ),
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    header = ["Référence", "Contrat", "Territoire", "Région", "Signataires", "Fiches", "Coût total"]
    rows = [[Paragraph(markup(text), small) for text in header]]
    for line in summary.lines:
        cells = [
            line.reference,
            line.title,
            line.territory,
            line.region,
            line.signatories,
            str(line.actions),
            euros(line.total_cost),
        ]
        rows.append([Paragraph(markup(text), small) for text in cells])
    widths = [28 * mm, 60 * mm, 40 * mm, 35 * mm, 60 * mm, 14 * mm, 28 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 5 * mm)]
    story.append(Paragraph("Coût des fiches-actions par axe", bold))
    story += [
        Paragraph(markup(f"{label} : {euros(total)}"), body) for label, total in summary.by_axis
    ]
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph("Financements par financeur", bold))
    story += [
        Paragraph(
            markup(f"{label} : {euros(requested)} demandés, dont {euros(committed)} engagés"),
            body,
        )
        for label, requested, committed in summary.by_funder
    ] or [Paragraph("Aucun financement.", body)]
    if summary.derogations:
        story.append(Spacer(1, 3 * mm))
        story.append(Paragraph("Dérogations contractualisées avec la vague", bold))
        story += [Paragraph(markup(text), body) for text in summary.derogations]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Vague {summary.name}",
        author="Territoires d'industrie",
        invariant=1,
    )
    document.build(story)
    return buffer.getvalue()


EXPORT_HEADER = [
    "référence du contrat",
    "territoire",
    "code du territoire",
    "région pilote",
    "état du contrat",
    "fiche-action",
    "axe",
    "porteur",
    "statut de la fiche",
    "coût total (€)",
    "financeur",
    "montant demandé (€)",
    "statut du financement",
    "montant engagé (€)",
]


def export_rows(contracts) -> list[list]:
    """One row per financing line; a fiche without financing, or a contract without fiche,
    still has its row, so that nothing of the wave is missing from the export."""
    axes, funders = dict(Axis.choices), dict(Funder.choices)
    rows: list[list] = []
    for contract in contracts:
        head = [
            contract.reference,
            contract.territory.name,
            contract.territory.code,
            contract.territory.pilot_region.name,
            contract.state_label,
        ]
        actions = list(contract.actions.all())
        if not actions:
            rows.append([*head, "", "", "", "", None, "", None, "", None])
        for action in actions:
            fiche = [
                action.title,
                axes.get(action.axis, action.axis),
                action.project_owner,
                action.get_status_display(),
                action.total_cost,
            ]
            lines = list(action.financings.all())
            if not lines:
                rows.append([*head, *fiche, "", None, "", None])
            for line in lines:
                committed = line.committed_amount if line.status == "committed" else None
                rows.append(
                    [
                        *head,
                        *fiche,
                        funders[line.funder],
                        line.amount,
                        line.get_status_display(),
                        committed,
                    ]
                )
    return rows


def export_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    # Semicolons and a BOM: what French spreadsheet software opens without asking.
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(EXPORT_HEADER)
    for row in rows:
        writer.writerow(["" if value is None else _csv_value(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_value(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    text = str(value)
    # A cell starting like a formula is run by spreadsheets: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_xlsx(rows: list[list], title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Contrats et fiches"
    sheet.append(EXPORT_HEADER)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                # openpyxl takes text starting with "=" for a formula: user text stays text.
                cell.data_type = "s"
    for column in ("J", "L", "N"):
        for cell in sheet[column][1:]:
            cell.number_format = '#,##0.00 "€"'
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

"""The decision letter sent to the applicant of a France Expérimentation request, as a PDF."""

import unicodedata
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer

from cases.kernel import french

HEADER = "République française — Ministère chargé de l'industrie"
PROGRAMME = "Programme Territoires d'industrie — France Expérimentation"
AUTHOR = "Territoires d'industrie"
PLACE = "Paris"


@dataclass(frozen=True, kw_only=True)
class DecisionLetter:
    reference: str
    applicant: str
    territory: str
    title: str
    rule_kind: str
    rule_reference: str
    outcome: str
    motivation: str
    legal_basis: str
    decided_on: date
    signatory: str
    details: list[tuple[str, str]]


def french_date(day: date) -> str:
    # The PDF lays out its own lines: plain spaces, as the letter has always been written.
    return french.date_fr(day).replace(french.NBSP, " ")


def _winansi(text: str) -> str:
    """Text the standard PDF fonts can draw.

    Helvetica is limited to WinAnsi: anything outside it is drawn by reportlab as a black
    square, so letters with a decomposable accent (ő, ř, ĳ) fall back to their base letters.
    """
    out = []
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch in "\u202f\u2007":
            # The narrow spaces that French puts before « ; : ! ? » must not break the line.
            out.append("\xa0")
        elif ch == "\t":
            out.append(" ")
        elif ch != "\n" and unicodedata.category(ch) == "Cc":
            continue
        else:
            try:
                ch.encode("cp1252")
            except UnicodeEncodeError:
                base = "".join(
                    c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
                )
                try:
                    base.encode("cp1252")
                except UnicodeEncodeError:
                    # Left to reportlab, which may still find it in the Symbol font (≥, ≤).
                    base = ch
                ch = base or ch
            out.append(ch)
    return "".join(out)


def markup(text: str) -> str:
    # Paragraph parses its text as markup: user text must never be taken for tags.
    return escape(_winansi(text)).replace("\n", "<br/>")


_markup = markup


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName="Helvetica", fontSize=10.5, leading=14, alignment=TA_LEFT
    )
    return {
        "body": body,
        "header": ParagraphStyle("header", parent=body, fontName="Helvetica-Bold", fontSize=11),
        "programme": ParagraphStyle("programme", parent=body, fontSize=9.5),
        "place": ParagraphStyle("place", parent=body, leftIndent=95 * mm),
        "object": ParagraphStyle("object", parent=body, fontName="Helvetica-Bold"),
        "heading": ParagraphStyle(
            "heading", parent=body, fontName="Helvetica-Bold", spaceBefore=8, spaceAfter=3
        ),
        "line": ParagraphStyle("line", parent=body, spaceAfter=2),
        "signature": ParagraphStyle("signature", parent=body, leftIndent=95 * mm),
    }


def _line(label: str, value_markup: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"{_markup(label)} : {value_markup}", style)


def _story(letter: DecisionLetter) -> list[Flowable]:
    st = _styles()
    rule = " — ".join(part for part in (letter.rule_kind, letter.rule_reference) if part)
    story: list[Flowable] = [
        Paragraph(_markup(HEADER), st["header"]),
        Paragraph(_markup(PROGRAMME), st["programme"]),
        Spacer(1, 12 * mm),
        Paragraph(_markup(f"{PLACE}, le {french_date(letter.decided_on)}"), st["place"]),
        Spacer(1, 10 * mm),
        Paragraph(_markup(f"Objet : décision sur la demande {letter.reference}"), st["object"]),
        Spacer(1, 6 * mm),
        _line("Demandeur", _markup(letter.applicant), st["line"]),
        _line("Territoire", _markup(letter.territory), st["line"]),
        _line("Intitulé de la demande", _markup(letter.title), st["line"]),
        _line("Règle visée", _markup(rule), st["line"]),
        _line("Décision", f"<b>{_markup(letter.outcome)}</b>", st["line"]),
    ]
    story += [_line(label, _markup(value), st["line"]) for label, value in letter.details]
    story += [
        Paragraph("Motivation", st["heading"]),
        Paragraph(_markup(letter.motivation), st["body"]),
        Paragraph("Fondement juridique", st["heading"]),
        Paragraph(_markup(letter.legal_basis), st["body"]),
        Spacer(1, 15 * mm),
        Paragraph(_markup(letter.signatory), st["signature"]),
    ]
    return story


def build_pdf(story: list[Flowable], *, title: str, **metadata: str) -> bytes:
    """An A4 page of the programme's letters (margins, author, language), ``story`` on it."""
    buffer = BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=AUTHOR,
        creator=AUTHOR,
        lang="fr-FR",
        # Same content, same bytes: the timestamps and the file ID no longer depend on the
        # clock, so that the hash in the audit log can be checked against a copy.
        invariant=1,
        **metadata,
    ).build(story)
    return buffer.getvalue()


def render_decision_letter(letter: DecisionLetter) -> bytes:
    return build_pdf(_story(letter), title=f"Décision {letter.reference}", subject=letter.title)

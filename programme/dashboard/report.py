"""The « point d'étape » of a steering committee session, as a dated PDF: what changed since
the previous session (new contracts, waves validated, decisions), then the programme's figures.
Built with reportlab as the wave PDF is (cases.waves.documents)."""

import io
from datetime import date

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.derogations.letters import french_date, markup
from cases.kernel import french

BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9.5, leading=12.5)
TITLE = ParagraphStyle("title", parent=BODY, fontName="Helvetica-Bold", fontSize=15, leading=19)
HEADING = ParagraphStyle("heading", parent=BODY, fontName="Helvetica-Bold", fontSize=12, leading=16)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=10.5)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(markup(french.typo(text)), style)


def _table(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
    cells = [[_p(text, SMALL) for text in header]]
    cells += [[_p(str(text), SMALL) for text in row] for row in rows]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _n(value) -> str:
    return french.group_digits(int(value or 0))


def _euros(value) -> str:
    return french.euros(value, cents=False)


def _changes(changes: dict) -> list[Flowable]:
    since = french_date(changes["since"])
    story: list[Flowable] = [_p(f"Depuis la séance du {since}", HEADING)]
    contracts = changes["contracts"]
    story.append(
        _p(
            french.count_fr(
                contracts["count"], "nouveau contrat déposé", "nouveaux contrats déposés"
            )
            + "."
        )
    )
    if contracts["listed"]:
        story.append(
            _table(
                ["Référence", "Contrat", "Territoire", "Région", "Déposé le"],
                [
                    [
                        row["reference"],
                        row["title"],
                        row["territory"],
                        row["region"],
                        french_date(row["submitted_at"]),
                    ]
                    for row in contracts["listed"]
                ],
                [26, 56, 40, 36, 28],
            )
        )
        rest = contracts["count"] - len(contracts["listed"])
        if rest > 0:
            story.append(_p(f"… et {_n(rest)} autres (voir la liste des contrats)."))
    story.append(Spacer(1, 3 * mm))
    waves = changes["waves"]
    story.append(
        _p(f"{french.count_fr(len(waves), 'vague validée', 'vagues validées', feminine=True)}.")
    )
    for wave in waves:
        story.append(
            _p(
                f"{wave['name']} — {wave['place']}, {french_date(wave['date'])} : "
                f"validée le {french_date(wave['validated_at'])}, "
                f"{french.count_fr(wave['contracts'], 'contrat')}."
            )
        )
    story.append(Spacer(1, 3 * mm))
    decisions = changes["decisions"]
    counts = ", ".join(
        f"{row['label'].lower()} : {_n(row['count'])}" for row in decisions["counts"]
    )
    story.append(
        _p(f"{french.count_fr(decisions['count'], 'décision', feminine=True)} ({counts}).")
    )
    if decisions["listed"]:
        story.append(
            _table(
                ["Dossier", "Territoire", "Décision", "Le"],
                [
                    [
                        row["reference"],
                        row["territory"],
                        row["label"] + (f" — {row['outcome']}" if row["outcome"] else ""),
                        french_date(row["at"]),
                    ]
                    for row in decisions["listed"]
                ],
                [30, 60, 70, 26],
            )
        )
        rest = decisions["count"] - len(decisions["listed"])
        if rest > 0:
            story.append(_p(f"… et {_n(rest)} autres."))
    return story


def _figures(figures: dict) -> list[Flowable]:
    territories = figures["territories"]
    actions = figures["actions"]
    money = figures["money"]
    derogations = figures["derogations"]
    story: list[Flowable] = [
        _p("Les chiffres du programme", HEADING),
        _p(
            f"{_n(territories['with_contract'])} territoires sur {_n(territories['territories'])} "
            f"ont un contrat ; {_n(territories['contractualised'])} sont contractualisés ; "
            f"{french.count_fr(territories['contracts'], 'contrat')} en tout."
        ),
        _table(
            ["État", "Contrats", "Territoires"],
            [
                [row["label"], _n(row["contracts"]), _n(row["territories"])]
                for row in territories["by_state"]
            ],
            [70, 30, 30],
        ),
        Spacer(1, 3 * mm),
        _table(
            ["Région", "Territoires", "Ayant un contrat", "Contractualisés"],
            [
                [
                    row["name"],
                    _n(row["territories"]),
                    _n(row["with_contract"]),
                    _n(row["contractualised"]),
                ]
                for row in territories["by_region"]
            ],
            [70, 30, 35, 35],
        ),
        Spacer(1, 3 * mm),
        _p(
            f"{french.count_fr(actions['count'], 'fiche-action', 'fiches-actions', feminine=True)}"
            f" pour un coût total de {_euros(actions['cost'])}."
        ),
        _table(
            ["Axe", "Fiches-actions", "Coût total"],
            [[row["label"], _n(row["count"]), _euros(row["cost"])] for row in actions["by_axis"]],
            [50, 35, 45],
        ),
        Spacer(1, 3 * mm),
        _p(
            f"Financements : {_euros(money['requested'])} demandés, "
            f"{_euros(money['committed'])} engagés."
        ),
        _table(
            ["Financeur", "Demandé", "Engagé"],
            [
                [row["label"], _euros(row["requested"]), _euros(row["committed"])]
                for row in money["by_funder"]
            ],
            [50, 45, 45],
        ),
        Spacer(1, 3 * mm),
        _p(
            french.count_fr(
                derogations["count"],
                "demande de dérogation",
                "demandes de dérogation",
                feminine=True,
            )
            + f", dont {_n(derogations['decided'])} décidées."
        ),
        _table(
            ["Décision", "Demandes"],
            [[row["label"], _n(row["count"])] for row in derogations["by_outcome"]],
            [80, 30],
        ),
        Spacer(1, 3 * mm),
        _p(
            f"Délais en jours (étapes quittées depuis le {french_date(figures['time']['since'])}) :"
        ),
        _table(
            ["Dossiers", "Étape", "Étapes quittées", "Médiane", "90e centile"],
            [
                [
                    row["kind_label"],
                    row["label"],
                    _n(row["count"]),
                    "—" if row["median"] is None else f"{row['median']:.1f}".replace(".", ","),
                    "—" if row["p90"] is None else f"{row['p90']:.1f}".replace(".", ","),
                ]
                for row in figures["time"]["stages"]
            ],
            [28, 52, 30, 25, 25],
        ),
    ]
    return story


def render_report(*, scope_label: str, today: date, figures: dict, changes: dict) -> bytes:
    story: list[Flowable] = [
        _p("République française — Ministère chargé de l'industrie", SMALL),
        _p("Programme Territoires d'industrie — comité de pilotage", SMALL),
        Spacer(1, 5 * mm),
        _p(f"Point d'étape du {french_date(today)}", TITLE),
        _p(f"Périmètre : {scope_label}."),
        Spacer(1, 5 * mm),
        *_changes(changes),
        Spacer(1, 6 * mm),
        *_figures(figures),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Point d'étape du {french_date(today)}",
        author="Territoires d'industrie",
        invariant=1,
    )
    document.build(story)
    return buffer.getvalue()

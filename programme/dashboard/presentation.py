"""The dashboard's figures as the page shows them: sections of charts and tables, each number
written the French way and linked to the filtered list that makes it up."""

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from cases.kernel import french
from cases.models import Axis, FinancingLine, Outcome, State
from programme.dashboard.stats import AXIS_LABELS, CONTRACT_STATES, OUTCOME_LABELS, Filters

# The parameters each list understands: the dashboard's filters it cannot apply
# are left out rather than silently misread.
LIST_PARAMS = {
    "contracts": {"region", "wave", "axis", "funder", "since", "until"},
    "actions": {"region", "wave", "axis", "funder", "since", "until"},
    "derogations": {"region", "since", "until"},
}


# The region map of DSFR Chart 2.0.4 names the Regions by their ISO 3166-2 codes (FR-ARA...)
# and the overseas ones by their department number, not by the INSEE codes its README shows:
# the programme's Regions carry INSEE codes, translated here.
MAP_REGION_KEYS = {
    "84": "ARA",
    "27": "BFC",
    "53": "BRE",
    "24": "CVL",
    "94": "20R",
    "44": "GES",
    "32": "HDF",
    "11": "IDF",
    "28": "NOR",
    "75": "NAQ",
    "76": "OCC",
    "52": "PDL",
    "93": "PAC",
    "01": "971",
    "02": "972",
    "03": "973",
    "04": "974",
    "06": "976",
}


@dataclass
class Cell:
    text: str
    href: str = ""
    header: bool = False
    numeric: bool = False

    def markup(self) -> str:
        text = french.typo(escape(self.text))
        if self.href:
            text = f'<a class="fr-link fr-text--sm" href="{escape(self.href)}">{text}</a>'
        if self.header:
            return f'<th scope="row">{text}</th>'
        return f'<td class="fr-cell--right">{text}</td>' if self.numeric else f"<td>{text}</td>"


@dataclass
class Table:
    id: str
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    foot: list[Cell] = field(default_factory=list)

    # The rows are written here rather than cell by cell in the template: a national page
    # has a thousand cells, which the template engine would take longer to print than the
    # figures take to read from the cache. Every text is escaped (``escape``) first.
    @property
    def body(self) -> str:
        return mark_safe(  # noqa: S308 - every text escaped in Cell.markup
            "".join(f"<tr>{''.join(cell.markup() for cell in row)}</tr>" for row in self.rows)
        )

    @property
    def foot_row(self) -> str:
        return mark_safe(f"<tr>{''.join(cell.markup() for cell in self.foot)}</tr>")  # noqa: S308

    @property
    def heads(self) -> list[tuple[str, bool]]:
        """Each column's title, aligned as its figures are (numbers to the right)."""
        sample = self.rows[0] if self.rows else self.foot
        return [
            (column, index < len(sample) and sample[index].numeric)
            for index, column in enumerate(self.columns)
        ]


@dataclass
class Chart:
    tag: str
    label: str
    attrs: list[tuple[str, str]]


@dataclass
class Section:
    id: str
    title: str
    figures: list[tuple[str, str, str]]  # (number, what it counts, link)
    charts: list[Chart]
    tables: list[Table]
    exports: list[tuple[str, str]]  # (block, label)
    note: str = ""


def number(value) -> str:
    return french.group_digits(int(value or 0))


def money(value) -> str:
    return french.euros(value or Decimal("0"), cents=False)


def days(value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",")


def as_float(value) -> float:
    return float(value or 0)


class Links:
    def __init__(self, filters: Filters):
        self.params = filters.params()

    def _url(self, base: str, kind: str, extra: dict) -> str:
        params = {k: v for k, v in self.params.items() if k in LIST_PARAMS[kind]}
        params.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
        return f"{base}?{urlencode(params)}" if params else base

    def contracts(self, **extra) -> str:
        return self._url(reverse("contract-list"), "contracts", extra)

    def actions(self, **extra) -> str:
        return self._url(reverse("action-list"), "actions", extra)

    def derogations(self, **extra) -> str:
        return self._url(reverse("derogation-list"), "derogations", extra)


def chart(tag: str, label: str, **attrs) -> Chart:
    encoded = [
        (name.replace("_", "-"), value if isinstance(value, str) else json.dumps(value))
        for name, value in attrs.items()
    ]
    return Chart(tag=tag, label=label, attrs=encoded)


def territories_section(figures: dict, links: Links, today: date, national: bool) -> Section:
    block = figures["territories"]
    waves = figures["waves"]
    by_region = block["by_region"]
    states = [row for row in block["by_state"] if row["state"] in CONTRACT_STATES]
    state_table = Table(
        id="contracts-by-state",
        caption="Contrats par état",
        columns=["État", "Contrats", "Territoires concernés"],
        rows=[
            [
                Cell(row["label"], header=True),
                Cell(number(row["contracts"]), links.contracts(state=row["state"]), numeric=True),
                Cell(number(row["territories"]), links.contracts(state=row["state"]), numeric=True),
            ]
            for row in states
        ],
        foot=[
            Cell("Total", header=True),
            Cell(number(block["contracts"]), links.contracts(), numeric=True),
            Cell(""),
        ],
    )
    region_table = Table(
        id="territories-by-region",
        caption="Territoires par Région pilote",
        columns=["Région", "Territoires", "Ayant un contrat", "Contractualisés", "Contrats"],
        rows=[
            [
                Cell(row["name"], header=True),
                Cell(number(row["territories"]), numeric=True),
                Cell(
                    number(row["with_contract"]),
                    links.contracts(region=row["region_id"]),
                    numeric=True,
                ),
                Cell(
                    number(row["contractualised"]),
                    links.contracts(region=row["region_id"], state=State.CONTRACTUALISED),
                    numeric=True,
                ),
                Cell(
                    number(row["contracts"]), links.contracts(region=row["region_id"]), numeric=True
                ),
            ]
            for row in by_region
        ],
        foot=[
            Cell("Total", header=True),
            Cell(number(block["territories"]), numeric=True),
            Cell(number(block["with_contract"]), links.contracts(), numeric=True),
            Cell(
                number(block["contractualised"]),
                links.contracts(state=State.CONTRACTUALISED),
                numeric=True,
            ),
            Cell(number(block["contracts"]), links.contracts(), numeric=True),
        ],
    )
    wave_table = Table(
        id="contracts-by-wave",
        caption="Contrats par vague de contractualisation",
        columns=[
            "Vague",
            "Date",
            "État",
            "Contrats",
            "Contractualisés",
            "Territoires contractualisés",
        ],
        rows=[
            [
                Cell(row["name"], header=True),
                Cell(french.date_fr(row["date"])),
                Cell(row["state_label"]),
                Cell(number(row["contracts"]), links.contracts(wave=row["wave_id"]), numeric=True),
                Cell(
                    number(row["contractualised"]),
                    links.contracts(wave=row["wave_id"], state=State.CONTRACTUALISED),
                    numeric=True,
                ),
                Cell(number(row["territories"]), numeric=True),
            ]
            for row in waves
        ],
    )
    charts = []
    if national:
        # The map of the Regions, every one of them (those without a territory at zero). A
        # Region's own dashboard has no map: one coloured Region among others left blank
        # would say nothing, or suggest figures it may not see.
        data = {key: 0 for key in MAP_REGION_KEYS.values()}
        data.update(
            {
                MAP_REGION_KEYS.get(row["code"], row["code"]): row["with_contract"]
                for row in by_region
            }
        )
        charts.append(
            chart(
                "map-chart",
                "Carte des Régions : territoires ayant un contrat",
                data=data,
                value=str(block["with_contract"]),
                name="Territoires ayant un contrat",
                date=french.date_fr(today),
                level="reg",
            )
        )
    charts += [
        chart(
            "bar-chart",
            "Contrats par état",
            x=[[row["label"] for row in states]],
            y=[[row["contracts"] for row in states]],
            name=["Contrats"],
            selected_palette="categorical",
        ),
    ]
    if waves:
        charts.append(
            chart(
                "bar-chart",
                "Contrats contractualisés par vague",
                x=[[row["name"] for row in waves]],
                y=[[row["contractualised"] for row in waves]],
                name=["Contrats contractualisés"],
            )
        )
    return Section(
        id="territoires",
        title="Territoires et contrats",
        figures=[
            (
                f"{number(block['with_contract'])} sur {number(block['territories'])}",
                "territoires ayant un contrat (hors contrats rejetés ou retirés)",
                links.contracts(),
            ),
            (
                number(block["contractualised"]),
                "territoires contractualisés",
                links.contracts(state=State.CONTRACTUALISED),
            ),
            (number(block["contracts"]), "contrats", links.contracts()),
        ],
        charts=charts,
        tables=[state_table, region_table, wave_table],
        exports=[("territoires", "territoires par Région"), ("vagues", "contrats par vague")],
    )


def actions_section(figures: dict, links: Links) -> Section:
    block = figures["actions"]
    axes = Axis.values
    axis_table = Table(
        id="actions-by-axis",
        caption="Fiches-actions par axe",
        columns=["Axe", "Fiches-actions", "Coût total"],
        rows=[
            [
                Cell(row["label"], header=True),
                Cell(number(row["count"]), links.actions(axis=row["axis"]), numeric=True),
                Cell(money(row["cost"]), links.actions(axis=row["axis"]), numeric=True),
            ]
            for row in block["by_axis"]
        ],
        foot=[
            Cell("Total", header=True),
            Cell(number(block["count"]), links.actions(), numeric=True),
            Cell(money(block["cost"]), links.actions(), numeric=True),
        ],
    )
    region_table = Table(
        id="actions-by-region",
        caption="Fiches-actions par Région et par axe",
        columns=["Région", *[str(AXIS_LABELS[a]) for a in axes], "Total", "Coût total"],
        rows=[
            [
                Cell(row["name"], header=True),
                *[
                    Cell(
                        number(row["axes"][a]["count"]),
                        links.actions(region=row["region_id"], axis=a),
                        numeric=True,
                    )
                    for a in axes
                ],
                Cell(number(row["count"]), links.actions(region=row["region_id"]), numeric=True),
                Cell(money(row["cost"]), links.actions(region=row["region_id"]), numeric=True),
            ]
            for row in block["by_region"]
        ],
    )
    status_table = Table(
        id="actions-by-status",
        caption="Fiches-actions par statut",
        columns=["Statut", "Fiches-actions", "Coût total"],
        rows=[
            [
                Cell(row["label"], header=True),
                Cell(number(row["count"]), links.actions(status=row["status"]), numeric=True),
                Cell(money(row["cost"]), links.actions(status=row["status"]), numeric=True),
            ]
            for row in block["by_status"]
        ],
    )
    return Section(
        id="fiches",
        title="Fiches-actions",
        figures=[
            (number(block["count"]), "fiches-actions", links.actions()),
            (money(block["cost"]), "de coût total", links.actions()),
        ],
        charts=[
            chart(
                "pie-chart",
                "Coût total des fiches-actions par axe",
                x=[[row["label"] for row in block["by_axis"]]],
                y=[[as_float(row["cost"]) for row in block["by_axis"]]],
                name=[row["label"] for row in block["by_axis"]],
                unit_tooltip="€",
                selected_palette="categorical",
            ),
            chart(
                "bar-chart",
                "Nombre de fiches-actions par statut",
                x=[[row["label"] for row in block["by_status"]]],
                y=[[row["count"] for row in block["by_status"]]],
                name=["Fiches-actions"],
            ),
        ],
        tables=[axis_table, region_table, status_table],
        exports=[("fiches", "fiches-actions par Région, axe et statut")],
    )


def money_section(figures: dict, links: Links) -> Section:
    block = figures["money"]
    committed = FinancingLine.Status.COMMITTED

    def rows_of(items: list[dict], key: str, label_key: str = "label") -> list[list[Cell]]:
        rows = []
        for row in items:
            target = {key: row[key]} if key != "region_id" else {"region": row["region_id"]}
            rows.append(
                [
                    Cell(row[label_key], header=True),
                    Cell(money(row["requested"]), links.actions(**target), numeric=True),
                    Cell(
                        money(row["committed"]),
                        links.actions(**target, line_status=committed),
                        numeric=True,
                    ),
                ]
            )
        return rows

    columns = ["Demandé", "Engagé"]
    foot = [
        Cell("Total", header=True),
        Cell(money(block["requested"]), links.actions(), numeric=True),
        Cell(money(block["committed"]), links.actions(line_status=committed), numeric=True),
    ]
    return Section(
        id="financements",
        title="Financements demandés et engagés",
        figures=[
            (money(block["requested"]), "demandés", links.actions()),
            (money(block["committed"]), "engagés", links.actions(line_status=committed)),
        ],
        charts=[
            chart(
                "bar-chart",
                "Financements demandés et engagés par financeur",
                x=[[row["label"] for row in block["by_funder"]]],
                y=[
                    [as_float(row["requested"]) for row in block["by_funder"]],
                    [as_float(row["committed"]) for row in block["by_funder"]],
                ],
                name=["Demandé", "Engagé"],
                unit_tooltip="€",
            )
        ],
        tables=[
            Table(
                id="money-by-funder",
                caption="Financements par financeur",
                columns=["Financeur", *columns],
                rows=rows_of(block["by_funder"], "funder"),
                foot=foot,
            ),
            Table(
                id="money-by-region",
                caption="Financements par Région",
                columns=["Région", *columns],
                rows=rows_of(block["by_region"], "region_id", "name"),
                foot=foot,
            ),
            Table(
                id="money-by-axis",
                caption="Financements par axe",
                columns=["Axe", *columns],
                rows=rows_of(block["by_axis"], "axis"),
                foot=foot,
            ),
        ],
        exports=[("financements", "financements par Région, axe et financeur")],
        note=(
            "Demandé : le montant de chaque ligne de financement ; engagé : le montant engagé "
            "par le financeur sur les lignes qu'il a engagées."
        ),
    )


def derogations_section(figures: dict, links: Links) -> Section:
    block = figures["derogations"]
    outcomes = Outcome.values
    state_table = Table(
        id="derogations-by-state",
        caption="Demandes de dérogation par état",
        columns=["État", "Demandes"],
        rows=[
            [
                Cell(row["label"], header=True),
                Cell(number(row["count"]), links.derogations(state=row["state"]), numeric=True),
            ]
            for row in block["by_state"]
        ],
        foot=[
            Cell("Total", header=True),
            Cell(number(block["count"]), links.derogations(), numeric=True),
        ],
    )
    outcome_table = Table(
        id="derogations-by-outcome",
        caption="Demandes de dérogation par décision",
        columns=["Décision", "Demandes"],
        rows=[
            [
                Cell(row["label"], header=True),
                Cell(number(row["count"]), links.derogations(outcome=row["outcome"]), numeric=True),
            ]
            for row in block["by_outcome"]
        ],
    )
    region_table = Table(
        id="derogations-by-region",
        caption="Demandes de dérogation par Région",
        columns=["Région", "Demandes", *[str(OUTCOME_LABELS[o]) for o in outcomes]],
        rows=[
            [
                Cell(row["name"], header=True),
                Cell(
                    number(row["count"]), links.derogations(region=row["region_id"]), numeric=True
                ),
                *[
                    Cell(
                        number(row["outcomes"][o]),
                        links.derogations(region=row["region_id"], outcome=o),
                        numeric=True,
                    )
                    for o in outcomes
                ],
            ]
            for row in block["by_region"]
        ],
    )
    rules_table = Table(
        id="derogations-rules",
        caption="Textes les plus visés par les demandes (10 premiers)",
        columns=["Texte visé", "Demandes"],
        rows=[
            [
                Cell(row["reference"], header=True),
                Cell(number(row["count"]), links.derogations(rule=row["key"]), numeric=True),
            ]
            for row in block["rules"]
        ],
    )
    return Section(
        id="derogations",
        title="Demandes de dérogation",
        figures=[
            (number(block["count"]), "demandes", links.derogations()),
            (number(block["decided"]), "décidées", links.derogations(state=State.DECIDED)),
        ],
        charts=[
            chart(
                "pie-chart",
                "Demandes de dérogation par décision",
                x=[[row["label"] for row in block["by_outcome"]]],
                y=[[row["count"] for row in block["by_outcome"]]],
                name=[row["label"] for row in block["by_outcome"]],
                selected_palette="categorical",
            ),
            chart(
                "bar-chart",
                "Demandes de dérogation par état",
                x=[[row["label"] for row in block["by_state"]]],
                y=[[row["count"] for row in block["by_state"]]],
                name=["Demandes"],
            ),
        ],
        tables=[state_table, outcome_table, region_table, rules_table],
        exports=[
            ("derogations", "demandes par Région, état et décision"),
            ("textes", "textes les plus visés"),
        ],
        note="Les filtres d'axe et de financeur ne s'appliquent pas aux demandes de dérogation.",
    )


DUE_LISTS = {"contract": "contract-list", "derogation": "derogation-list"}


def due_link(row: dict, status: str = "") -> str:
    """The list of the row's cases (its Region, kind and stage), late or due soon, the
    soonest first. Only the Region is carried over: no other filter applies to this block."""
    params = {"region": row["region_id"], "state": row["stage"], "sort": "due"}
    if status:
        params["due"] = status
    return f"{reverse(DUE_LISTS[row['kind']])}?{urlencode(params)}"


def time_section(figures: dict) -> Section:
    block = figures["time"]
    stages = block["stages"]
    table = Table(
        id="time-by-stage",
        caption=f"Jours passés dans chaque étape (étapes quittées depuis le "
        f"{french.date_fr(block['since'])})",
        columns=["Dossiers", "Étape", "Étapes quittées", "Médiane (jours)", "90e centile (jours)"],
        rows=[
            [
                Cell(row["kind_label"], header=True),
                Cell(row["label"]),
                Cell(number(row["count"]), numeric=True),
                Cell(days(row["median"]), numeric=True),
                Cell(days(row["p90"]), numeric=True),
            ]
            for row in stages
        ],
    )
    due = figures["due"]
    due_table = Table(
        id="due-by-region",
        caption=f"Dossiers en retard et bientôt dus (dans les {due['soon_days']} jours), "
        "par Région et par étape",
        columns=["Région", "Dossiers", "Étape", "En cours", "En retard", "Bientôt dus"],
        rows=[
            [
                Cell(row["name"], header=True),
                Cell(row["kind_label"]),
                Cell(row["label"]),
                Cell(number(row["open"]), due_link(row), numeric=True),
                Cell(number(row["late"]), due_link(row, "late"), numeric=True),
                Cell(number(row["soon"]), due_link(row, "soon"), numeric=True),
            ]
            for row in due["rows"]
        ],
        foot=[
            Cell("Total", header=True),
            Cell(""),
            Cell(""),
            Cell(number(due["open"]), numeric=True),
            Cell(number(due["late"]), numeric=True),
            Cell(number(due["soon"]), numeric=True),
        ],
    )
    contract_stages = [row for row in stages if row["kind"] == "contract"]
    return Section(
        id="delais",
        title="Délais",
        figures=[
            (number(due["late"]), "dossiers en retard sur leur échéance", ""),
            (number(due["soon"]), f"dossiers dus dans les {due['soon_days']} jours", ""),
        ],
        charts=[
            chart(
                "bar-chart",
                "Jours passés par un contrat dans chaque étape",
                x=[[row["label"] for row in contract_stages]],
                y=[
                    [row["median"] or 0 for row in contract_stages],
                    [row["p90"] or 0 for row in contract_stages],
                ],
                name=["Médiane", "90e centile"],
                unit_tooltip="jours",
            )
        ],
        tables=[due_table, table],
        exports=[("delais", "délais par étape"), ("echeances", "échéances par Région")],
        note=(
            f"Temps passé dans une étape : de l'entrée du dossier dans l'étape à sa sortie, "
            f"pour les étapes quittées dans les {block['days']} derniers jours. "
            "Seul le filtre de Région s'applique à ce bloc."
        ),
    )


def signatures_section(figures: dict) -> Section:
    block = figures["signatures"]

    def change(value) -> str:
        if value is None:
            return "—"
        return ("+" if value > 0 else "") + money(value)

    return Section(
        id="signatures",
        title="Signatures et avenants",
        figures=[
            (number(block["contracts"]), "contrats contractualisés", ""),
            (number(block["contracts"] - block["unsigned"]), "signés par tous", ""),
            (number(block["unsigned"]), "attendent une signature", ""),
            (number(block["amendments_awaiting"]), "avenants attendent leurs signataires", ""),
        ],
        charts=[],
        tables=[
            Table(
                id="signatures-missing",
                caption="Signatures manquantes par signataire",
                columns=["Signataire", "Signatures manquantes"],
                rows=[
                    [Cell(row["label"], header=True), Cell(number(row["missing"]), numeric=True)]
                    for row in block["by_party"]
                ],
            ),
            Table(
                id="signatures-waiting",
                caption="Contrats qui attendent une signature",
                columns=["Contrat", "Signatures manquantes"],
                rows=[
                    [
                        Cell(
                            row["reference"],
                            reverse("contract-detail", args=[row["reference"]]) + "#signatures",
                            header=True,
                        ),
                        Cell(", ".join(row["missing"])),
                    ]
                    for row in block["waiting"]
                ],
            ),
            Table(
                id="versions-amounts",
                caption="Montants par version en vigueur",
                columns=[
                    "Version",
                    "Contrats",
                    "Coût des fiches-actions",
                    "Engagé",
                    "Écart avec la version précédente",
                ],
                rows=[
                    [
                        Cell(f"Version {row['number']}", header=True),
                        Cell(number(row["contracts"]), numeric=True),
                        Cell(money(row["cost"]), numeric=True),
                        Cell(money(row["committed"]), numeric=True),
                        Cell(change(row["change"]), numeric=True),
                    ]
                    for row in block["versions"]
                ],
            ),
        ],
        exports=[],
        note=(
            "Un contrat est signé quand chaque signataire de sa version en vigueur a signé. "
            "La version 1 est celle de la contractualisation ; chaque avenant signé en fait "
            "une nouvelle. L'écart compare le montant engagé de chaque contrat à celui de sa "
            "version précédente."
        ),
    )


def sections(figures: dict, filters: Filters, today: date, *, national: bool) -> list[Section]:
    links = Links(filters)
    return [
        territories_section(figures, links, today, national),
        signatures_section(figures),
        actions_section(figures, links),
        money_section(figures, links),
        derogations_section(figures, links),
        time_section(figures),
    ]

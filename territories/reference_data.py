"""Reading, checking and loading the reference data files (regions, EPCI, territories).

Everything is read and checked before the database is touched, then written in one
transaction: a bad file leaves the database exactly as it was.
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from territories.models import Intercommunality, Region, Territory, TerritoryIntercommunality

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

REGIONS_FILE = "regions.csv"
EPCI_FILE = "epci_2020.csv"
TERRITORIES_FILE = "territoires_industrie_2020.csv"
LINKS_FILE = "territoires_industrie_2020_epci.csv"

COVERAGE = {
    "complete": TerritoryIntercommunality.Coverage.FULL,
    "partielle": TerritoryIntercommunality.Coverage.PARTIAL,
}
MAX_REPORTED_ERRORS = 20
# One or more INSEE codes of départements (01–95, 2A, 2B, 971–976), separated by « ; ».
DEPARTEMENT = r"(?:0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])"
DEPARTEMENTS = rf"{DEPARTEMENT}(?:;{DEPARTEMENT})*"


class ReferenceDataError(Exception):
    """A reference file is unusable; the message says where and why, in French."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_REPORTED_ERRORS]
        more = len(errors) - len(shown)
        lines = ["Données de référence invalides, rien n'a été modifié :", *shown]
        if more:
            lines.append(f"… et {more} autre(s) erreur(s).")
        super().__init__("\n".join(lines))


def siren_is_valid(siren: str) -> bool:
    """A SIREN is nine digits whose Luhn checksum is zero."""
    if not re.fullmatch(r"[0-9]{9}", siren):
        return False
    total = 0
    for index, char in enumerate(reversed(siren)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


@dataclass
class Row:
    file: str
    line: int
    values: dict[str, str]

    def where(self) -> str:
        return f"{self.file}, ligne {self.line}"


@dataclass
class Errors:
    messages: list[str] = field(default_factory=list)

    def add(self, row: Row, column: str, problem: str) -> None:
        value = row.values.get(column, "")
        self.messages.append(f"{row.where()}, colonne « {column} », valeur « {value} » : {problem}")


def read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[Row]:
    name = path.name
    if not path.is_file():
        raise ReferenceDataError([f"{name} : fichier introuvable ({path})."])
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [column for column in columns if column not in header]
            if missing:
                raise ReferenceDataError(
                    [f"{name}, ligne 1 : colonne(s) manquante(s) : {', '.join(missing)}."]
                )
            for values in reader:
                cleaned = {key: (value or "").strip() for key, value in values.items() if key}
                yield Row(name, reader.line_num, cleaned)
    except UnicodeDecodeError as error:
        raise ReferenceDataError(
            [f"{name} : le fichier n'est pas encodé en UTF-8 ({error})."]
        ) from error


@dataclass
class ReferenceData:
    regions: dict[str, dict] = field(default_factory=dict)
    intercommunalities: dict[str, dict] = field(default_factory=dict)
    territories: dict[str, dict] = field(default_factory=dict)
    links: dict[tuple[str, str], str] = field(default_factory=dict)


def _check_unique(seen: dict, key, row: Row, column: str, errors: Errors) -> bool:
    if key in seen:
        errors.add(row, column, "doublon (déjà présent plus haut dans le fichier).")
        return False
    return True


def _name_is_valid(row: Row, column: str, max_length: int, errors: Errors) -> bool:
    name = row.values[column]
    if not name:
        errors.add(row, column, "nom vide.")
        return False
    if len(name) > max_length:
        errors.add(row, column, f"nom trop long ({len(name)} caractères, {max_length} au plus).")
        return False
    return True


def parse_regions(data_dir: Path, data: ReferenceData, errors: Errors) -> None:
    for row in read_rows(data_dir / REGIONS_FILE, ("code_insee", "nom", "zone")):
        code, name, zone = row.values["code_insee"], row.values["nom"], row.values["zone"]
        if not re.fullmatch(r"[0-9]{2}", code):
            errors.add(row, "code_insee", "code INSEE de région invalide (2 chiffres attendus).")
            continue
        if not _name_is_valid(row, "nom", 100, errors):
            continue
        if zone not in Region.Zone.values:
            errors.add(row, "zone", "zone inconnue (metro ou drom attendu).")
            continue
        if _check_unique(data.regions, code, row, "code_insee", errors):
            data.regions[code] = {"name": name, "zone": zone}


def parse_intercommunalities(data_dir: Path, data: ReferenceData, errors: Errors) -> None:
    columns = ("siren", "nom", "type", "population_totale", "code_region_principale")
    for row in read_rows(data_dir / EPCI_FILE, columns):
        values = row.values
        siren = values["siren"]
        if not siren_is_valid(siren):
            errors.add(row, "siren", "SIREN invalide (9 chiffres avec une clé de Luhn valide).")
            continue
        if values["type"] not in Intercommunality.Kind.values:
            errors.add(row, "type", "nature d'EPCI inconnue (CC, CA, CU, METRO ou MET69).")
            continue
        if not re.fullmatch(r"[0-9]{1,8}", values["population_totale"]):
            errors.add(
                row,
                "population_totale",
                "population invalide (entier positif de 8 chiffres au plus attendu).",
            )
            continue
        region = values["code_region_principale"]
        if region not in data.regions:
            errors.add(row, "code_region_principale", f"région inconnue de {REGIONS_FILE}.")
            continue
        if not _name_is_valid(row, "nom", 200, errors):
            continue
        if _check_unique(data.intercommunalities, siren, row, "siren", errors):
            data.intercommunalities[siren] = {
                "name": values["nom"],
                "kind": values["type"],
                "population": int(values["population_totale"]),
                "region": region,
            }


def parse_territories(data_dir: Path, data: ReferenceData, errors: Errors) -> None:
    for row in read_rows(
        data_dir / TERRITORIES_FILE,
        ("code_ti", "libelle_ti", "code_region_pilote", "codes_departements"),
    ):
        code, name, region, departements = (
            row.values[c]
            for c in ("code_ti", "libelle_ti", "code_region_pilote", "codes_departements")
        )
        if not re.fullmatch(r"[0-9]{4}", code):
            errors.add(row, "code_ti", "code de territoire invalide (4 chiffres attendus).")
            continue
        if not re.fullmatch(r"[0-9]{2}", region):
            errors.add(row, "code_region_pilote", "code INSEE de région invalide (2 chiffres).")
            continue
        if region not in data.regions:
            errors.add(row, "code_region_pilote", f"région inconnue de {REGIONS_FILE}.")
            continue
        if not _name_is_valid(row, "libelle_ti", 200, errors):
            continue
        if not re.fullmatch(DEPARTEMENTS, departements):
            errors.add(
                row,
                "codes_departements",
                "codes INSEE de départements invalides (par exemple 57 ou 54;57 ou 976).",
            )
            continue
        if _check_unique(data.territories, code, row, "code_ti", errors):
            data.territories[code] = {
                "name": name,
                "region": region,
                "departements": departements,
            }


def parse_links(data_dir: Path, data: ReferenceData, errors: Errors) -> None:
    for row in read_rows(data_dir / LINKS_FILE, ("code_ti", "siren_epci", "couverture")):
        code, siren, coverage = (row.values[c] for c in ("code_ti", "siren_epci", "couverture"))
        if code not in data.territories:
            errors.add(row, "code_ti", f"territoire inconnu de {TERRITORIES_FILE}.")
            continue
        if not siren_is_valid(siren):
            errors.add(
                row, "siren_epci", "SIREN invalide (9 chiffres avec une clé de Luhn valide)."
            )
            continue
        if siren not in data.intercommunalities:
            errors.add(row, "siren_epci", f"EPCI inconnu de {EPCI_FILE}.")
            continue
        if coverage not in COVERAGE:
            errors.add(row, "couverture", "couverture inconnue (complete ou partielle).")
            continue
        if _check_unique(data.links, (code, siren), row, "siren_epci", errors):
            data.links[(code, siren)] = COVERAGE[coverage]


def parse_reference_data(data_dir: Path = DEFAULT_DATA_DIR) -> ReferenceData:
    """Read every file and return its content, or raise with every problem found."""
    data = ReferenceData()
    errors = Errors()
    for parse in (parse_regions, parse_intercommunalities, parse_territories, parse_links):
        parse(data_dir, data, errors)
    if errors.messages:
        raise ReferenceDataError(errors.messages)
    return data


@dataclass
class Counts:
    label: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        return (
            f"{self.label} : {self.total} ({self.created} créé(s), "
            f"{self.updated} mis à jour, {self.unchanged} inchangé(s))"
        )


def _upsert(model, key_field: str, wanted: dict[str, dict], counts: Counts) -> dict:
    """Create or update rows of ``model`` so that they match ``wanted``; return key → instance."""
    existing = {getattr(obj, key_field): obj for obj in model.objects.all()}
    to_create, to_update, fields = [], [], set()
    for key, values in wanted.items():
        obj = existing.get(key)
        if obj is None:
            to_create.append(model(**{key_field: key}, **values))
            continue
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            fields.update(changed)
            to_update.append(obj)
        else:
            counts.unchanged += 1
    model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, sorted(fields), batch_size=500)
    counts.created += len(to_create)
    counts.updated += len(to_update)
    return {getattr(obj, key_field): obj for obj in model.objects.all()}


def _load_links(data: ReferenceData, territories: dict, epcis: dict, counts: Counts) -> None:
    existing = {
        (link.territory.code, link.intercommunality.siren): link
        for link in TerritoryIntercommunality.objects.select_related(
            "territory", "intercommunality"
        )
    }
    to_create, to_update = [], []
    for (code, siren), coverage in data.links.items():
        link = existing.get((code, siren))
        if link is None:
            to_create.append(
                TerritoryIntercommunality(
                    territory=territories[code], intercommunality=epcis[siren], coverage=coverage
                )
            )
        elif link.coverage != coverage:
            link.coverage = coverage
            to_update.append(link)
        else:
            counts.unchanged += 1
    TerritoryIntercommunality.objects.bulk_create(to_create, batch_size=500)
    TerritoryIntercommunality.objects.bulk_update(to_update, ["coverage"], batch_size=500)
    counts.created += len(to_create)
    counts.updated += len(to_update)


def load_reference_data(
    data_dir: Path = DEFAULT_DATA_DIR, progress: Callable[[str], None] = lambda message: None
) -> list[Counts]:
    """Check every file, then create or update the reference rows in one transaction.

    Rows that are in the database but no longer in the files are kept: cases refer to them.
    """
    progress(f"Lecture et contrôle des fichiers de {data_dir}…")
    data = parse_reference_data(data_dir)
    counts = [
        Counts("Régions"),
        Counts("Intercommunalités (EPCI)"),
        Counts("Territoires d'industrie"),
        Counts("Liens territoire–EPCI"),
    ]
    with transaction.atomic():
        progress(f"Régions ({len(data.regions)})…")
        regions = _upsert(Region, "code", data.regions, counts[0])
        progress(f"Intercommunalités ({len(data.intercommunalities)})…")
        epcis = _upsert(
            Intercommunality,
            "siren",
            {
                siren: {
                    "name": v["name"],
                    "kind": v["kind"],
                    "population": v["population"],
                    "main_region_id": regions[v["region"]].pk,
                }
                for siren, v in data.intercommunalities.items()
            },
            counts[1],
        )
        progress(f"Territoires ({len(data.territories)})…")
        territories = _upsert(
            Territory,
            "code",
            {
                code: {
                    "name": v["name"],
                    "pilot_region_id": regions[v["region"]].pk,
                    "departements": v["departements"],
                }
                for code, v in data.territories.items()
            },
            counts[2],
        )
        progress(f"Liens territoire–EPCI ({len(data.links)})…")
        _load_links(data, territories, epcis, counts[3])
    return counts

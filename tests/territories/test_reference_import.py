import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from territories import reference_data
from territories.models import Intercommunality, Region, Territory, TerritoryIntercommunality
from territories.reference_data import DEFAULT_DATA_DIR, siren_is_valid

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Everything the import writes, to compare before and after."""
    return {
        "regions": sorted(Region.objects.values_list("code", "name", "zone")),
        "epci": sorted(
            Intercommunality.objects.values_list(
                "siren", "name", "kind", "population", "main_region__code"
            )
        ),
        "territories": sorted(Territory.objects.values_list("code", "name", "pilot_region__code")),
        "links": sorted(
            TerritoryIntercommunality.objects.values_list(
                "territory__code", "intercommunality__siren", "coverage"
            )
        ),
    }


@pytest.fixture
def empty_reference_tables():
    TerritoryIntercommunality.objects.all().delete()
    Territory.objects.all().delete()
    Intercommunality.objects.all().delete()
    Region.objects.all().delete()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found in {path.name}")


def test_counts_after_import(empty_reference_tables, capsys):
    call_command("load_reference_data")
    out = capsys.readouterr().out
    assert Region.objects.count() == 18
    assert Intercommunality.objects.count() == 1255
    assert Territory.objects.count() == 148
    assert TerritoryIntercommunality.objects.count() == 537
    assert "Régions : 18 (18 créé(s)" in out
    assert "Liens territoire–EPCI : 537 (537 créé(s)" in out
    assert "Intercommunalités (1255)…" in out  # progress
    departements = dict(Territory.objects.values_list("code", "departements"))
    assert departements["8414"] == "74"
    assert departements["0101"] == "971"
    assert Territory.objects.get(code="4408").departement_codes == ["54", "55", "57"]
    assert all(departements.values())


def test_known_rows(empty_reference_tables):
    call_command("load_reference_data")
    arve = Territory.objects.get(code="8414")
    assert arve.name == "Vallée de l'Arve"
    assert arve.pilot_region.name == "Auvergne-Rhône-Alpes"
    faucigny = Intercommunality.objects.get(siren="200000172")
    assert (faucigny.kind, faucigny.population) == ("CC", 27970)
    assert set(arve.intercommunalities.values_list("siren", flat=True)) == {
        "200000172",
        "200033116",
    }
    partial = TerritoryIntercommunality.objects.get(
        territory__code="2802", intercommunality__siren="200065597"
    )
    assert partial.coverage == "partial"
    assert TerritoryIntercommunality.objects.filter(coverage="partial").count() == 17


def test_second_run_changes_nothing_and_says_so(capsys):
    call_command("load_reference_data")
    capsys.readouterr()
    before = snapshot()
    call_command("load_reference_data")
    out = capsys.readouterr().out
    assert snapshot() == before
    assert "Aucun changement" in out
    assert "0 créé(s), 0 mis à jour, 1255 inchangé(s)" in out


def test_a_changed_row_is_updated(data_dir, capsys):
    edit(data_dir / "regions.csv", "84,Auvergne-Rhône-Alpes", "84,Auvergne-Rhône-Alpes (test)")
    call_command("load_reference_data", data_dir=data_dir)
    assert Region.objects.get(code="84").name == "Auvergne-Rhône-Alpes (test)"
    assert "Régions : 18 (0 créé(s), 1 mis à jour, 17 inchangé(s))" in capsys.readouterr().out


BAD_INPUTS = {
    "missing column": (
        "epci_2020.csv",
        "siren,nom,type,",
        "identifiant,nom,type,",
        "ligne 1",
        "siren",
    ),
    "malformed SIREN": (
        "epci_2020.csv",
        "200000172,CC Faucigny",
        "20000017A,CC Faucigny",
        None,
        "20000017A",
    ),
    "SIREN with a wrong key": (
        "epci_2020.csv",
        "200000172,CC Faucigny",
        "200000173,CC Faucigny",
        None,
        "200000173",
    ),
    "malformed INSEE code": ("regions.csv", "84,Auvergne", "8A,Auvergne", None, "8A"),
    "unknown region of an EPCI": (
        "epci_2020.csv",
        "27970,27125,7,84,",
        "27970,27125,7,99,",
        None,
        "99",
    ),
    "unknown pilot region": (
        "territoires_industrie_2020.csv",
        "8414,Vallée de l'Arve,84,",
        "8414,Vallée de l'Arve,98,",
        None,
        "98",
    ),
    "unknown territory in links": (
        "territoires_industrie_2020_epci.csv",
        "8414,Vallée de l'Arve,200000172",
        "8499,Vallée de l'Arve,200000172",
        None,
        "8499",
    ),
    "SIREN in non-ASCII digits": (
        "epci_2020.csv",
        "200000172,CC Faucigny",
        "٢00000172,CC Faucigny",
        None,
        "٢00000172",
    ),
    "population in superscript digits": (
        "epci_2020.csv",
        "FPU,27970,27125",
        "FPU,²7970,27125",
        None,
        "²7970",
    ),
    "population too large": (
        "epci_2020.csv",
        "FPU,27970,27125",
        "FPU,279700000000,27125",
        None,
        "279700000000",
    ),
    "EPCI name too long": (
        "epci_2020.csv",
        "200000172,CC Faucigny-Glières,",
        "200000172," + "C" * 201 + ",",
        None,
        "C" * 201,
    ),
    "region code in non-ASCII digits": ("regions.csv", "84,Auvergne", "٨٤,Auvergne", None, "٨٤"),
    "malformed département code": (
        "territoires_industrie_2020.csv",
        "Auvergne-Rhône-Alpes,17,74,84,",
        "Auvergne-Rhône-Alpes,17,74;7X,84,",
        None,
        "74;7X",
    ),
    "no département": (
        "territoires_industrie_2020.csv",
        "Auvergne-Rhône-Alpes,17,74,84,",
        "Auvergne-Rhône-Alpes,17,,84,",
        None,
        "codes_departements",
    ),
    "malformed territory code": (
        "territoires_industrie_2020.csv",
        "8414,Vallée",
        "84X4,Vallée",
        None,
        "84X4",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_names_file_line_value_and_changes_nothing(data_dir, case):
    filename, old, new, where, value = case
    path = data_dir / filename
    # A valid change elsewhere proves that nothing at all is written, not just the bad row.
    edit(data_dir / "regions.csv", "28,Normandie", "28,Normandie (modifiée)")
    edit(path, old, new)
    line = where or f"ligne {line_of(path, new)}"
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("load_reference_data", data_dir=data_dir)
    message = str(error.value)
    assert filename in message and line in message and value in message, message
    assert "rien n'a été modifié" in message
    assert snapshot() == before


def test_duplicate_row_is_refused(data_dir):
    path = data_dir / "territoires_industrie_2020.csv"
    first_line = path.read_text(encoding="utf-8").splitlines()[1]
    with path.open("a", encoding="utf-8") as handle:
        handle.write(first_line + "\n")
    before = snapshot()
    with pytest.raises(
        CommandError, match=r"territoires_industrie_2020.csv, ligne 150.*0101.*doublon"
    ):
        call_command("load_reference_data", data_dir=data_dir)
    assert snapshot() == before


def test_a_byte_order_mark_is_accepted(data_dir, capsys):
    path = data_dir / "regions.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    call_command("load_reference_data", data_dir=data_dir)
    assert Region.objects.count() == 18


def test_file_not_in_utf8_is_refused(data_dir):
    path = data_dir / "regions.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    before = snapshot()
    with pytest.raises(CommandError, match=r"regions\.csv : le fichier n'est pas encodé en UTF-8"):
        call_command("load_reference_data", data_dir=data_dir)
    assert snapshot() == before


def test_missing_file_is_refused(data_dir):
    (data_dir / "epci_2020.csv").unlink()
    with pytest.raises(CommandError, match=r"epci_2020\.csv : fichier introuvable"):
        call_command("load_reference_data", data_dir=data_dir)


def test_failure_while_writing_rolls_everything_back(data_dir, monkeypatch):
    edit(data_dir / "regions.csv", "28,Normandie", "28,Normandie (modifiée)")

    def broken(*args, **kwargs):
        raise RuntimeError("panne simulée pendant l'écriture des liens")

    monkeypatch.setattr(reference_data, "_load_links", broken)
    before = snapshot()
    with pytest.raises(RuntimeError):
        call_command("load_reference_data", data_dir=data_dir)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("siren", "valid"),
    [
        ("200000172", True),
        ("200065597", True),
        ("200000173", False),
        ("20000017", False),
        ("", False),
    ],
)
def test_siren_key(siren, valid):
    assert siren_is_valid(siren) is valid

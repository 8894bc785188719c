"""The dashboard over HTTP: who sees which figures (the page, every export, the committee PDF
and the open statistics), the filters, the links, the exports' content, French typography,
and a number of queries that does not grow with the data."""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import User
from cases.models import Case
from programme.dashboard import exports, stats
from programme.dashboard.stats import NATIONAL, NO_FILTERS
from programme.dashboard.views import open_statistics
from programme.models import DashboardSnapshot
from territories.models import Region
from tests import factories
from tests.cases.kernel.test_french import plain_spaces_before_punctuation
from tests.programme.test_stats_world import make_contract, world_for_a_module

pytestmark = pytest.mark.django_db
DASHBOARD = "/tableau-de-bord/"
REPORT = "/tableau-de-bord/point-d-etape.pdf"
EXPORTS = [
    f"/tableau-de-bord/export/{block}.{fmt}" for block in exports.BLOCKS for fmt in ("csv", "xlsx")
]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    with world_for_a_module(django_db_blocker) as world:
        yield world


@pytest.fixture
def world(reference_data, module_world):
    return module_world.afresh()


@pytest.fixture
def users(world):
    return {
        "ministry": world.actors.minister,
        "steering": factories.steering_member(),
        "region84": factories.region_reviewer("84"),
        "region28": factories.region_reviewer("28"),
        "epci": factories.epci_agent("200000172"),
        "operator": factories.operator_agent("Bpifrance"),
    }


def test_the_urls_have_their_names():
    assert reverse("dashboard") == DASHBOARD
    assert reverse("dashboard-report") == REPORT
    assert reverse("dashboard-export", args=["fiches", "csv"]) == EXPORTS[4]
    assert reverse("api-stats") == "/api/stats/"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("ministry", 200),
        ("steering", 200),
        ("region84", 200),
        ("region28", 200),
        ("epci", 404),
        ("operator", 404),
    ],
)
def test_who_may_see_the_dashboard_its_exports_and_its_report(client, users, role, status):
    client.force_login(users[role])
    for url in [DASHBOARD, REPORT, *EXPORTS]:
        assert client.get(url).status_code == status, url


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for url in [DASHBOARD, REPORT, *EXPORTS]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_an_unknown_export_is_not_found(client, users):
    client.force_login(users["ministry"])
    assert client.get("/tableau-de-bord/export/fiches.pdf").status_code == 404
    assert client.get("/tableau-de-bord/export/inconnu.csv").status_code == 404


def csv_rows(response) -> list[dict]:
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ".")) if text else Decimal(0)


def test_a_region_sees_only_its_region_in_the_page_and_every_export(client, users, world):
    client.force_login(users["region84"])
    page = client.get(DASHBOARD).content.decode()
    assert "Auvergne-Rhône-Alpes" in page
    assert "Normandie" not in page
    assert "<map-chart" not in page  # a map of France would show Regions it may not see
    for url in EXPORTS:
        response = client.get(url)
        if url.endswith(".csv"):
            body = response.content.decode("utf-8-sig")
        else:
            sheet = load_workbook(io.BytesIO(response.content)).active
            body = " ".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
        assert "Normandie" not in body, url
    fiches = csv_rows(client.get("/tableau-de-bord/export/fiches.csv"))
    assert {row["Région"] for row in fiches} == {"Auvergne-Rhône-Alpes"}
    expected = stats.actions_block(stats.scope_for(users["region84"]), NO_FILTERS)
    assert sum(int(row["Fiches-actions"]) for row in fiches) == expected["count"]
    client.force_login(users["region28"])
    money = csv_rows(client.get("/tableau-de-bord/export/financements.csv"))
    assert {row["Région"] for row in money} == {"Normandie"}
    # Normandie: N1 asks 20 000 (committed) + 10 000, N2 12 000 + 3 000.
    assert sum(amount(row["Demandé (€)"]) for row in money) == Decimal("45000")
    assert sum(amount(row["Engagé (€)"]) for row in money) == Decimal("20000")


def test_national_exports_hold_the_national_figures(client, users, world):
    client.force_login(users["steering"])
    data = stats.dashboard(NATIONAL, NO_FILTERS)
    money = csv_rows(client.get("/tableau-de-bord/export/financements.csv"))
    assert sum(amount(row["Demandé (€)"]) for row in money) == data["money"]["requested"]
    assert sum(amount(row["Engagé (€)"]) for row in money) == data["money"]["committed"]
    territories = csv_rows(client.get("/tableau-de-bord/export/territoires.csv"))
    assert sum(int(row["Territoires"]) for row in territories) == 148
    assert sum(int(row["Territoires ayant un contrat"]) for row in territories) == 4
    rules = csv_rows(client.get("/tableau-de-bord/export/textes.csv"))
    assert rules[0]["Demandes"] == "3"
    workbook = load_workbook(
        io.BytesIO(client.get("/tableau-de-bord/export/financements.xlsx").content)
    )
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Région", "Code INSEE de la Région", "Axe", "Financeur"]
    requested = header.index("Demandé (€)") + 1
    values = [sheet.cell(row=r, column=requested).value for r in range(2, sheet.max_row + 1)]
    assert all(isinstance(value, int | float) for value in values)  # numbers, not text
    assert Decimal(str(sum(values))) == data["money"]["requested"]


def test_exports_follow_the_filters(client, users, world):
    client.force_login(users["ministry"])
    fiches = csv_rows(client.get("/tableau-de-bord/export/fiches.csv?axis=innover"))
    assert {row["Axe"] for row in fiches} == {"Innover"}
    # A refused filter: the whole figures, as on the page.
    refused = csv_rows(client.get("/tableau-de-bord/export/fiches.csv?axis=inconnu"))
    assert {row["Axe"] for row in refused} == {"Attirer", "Recruter", "Innover", "Simplifier"}


def figure_of(page: str, table_id: str, label: str) -> str:
    """The first number of the row ``label`` in the table ``table_id``."""
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    row = table.split(f">{label}</th>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r">([0-9\u202f\u00a0 ]+(?:€)?)<", row)[0].strip()


def test_the_page_shows_the_figures_and_links_them_to_their_lists(client, users, world):
    client.force_login(users["ministry"])
    page = unescape(client.get(DASHBOARD).content.decode())
    assert figure_of(page, "actions-by-axis", "Attirer") == "2"
    assert figure_of(page, "money-by-funder", "Bpifrance") == "50\u202f000\u00a0€"
    assert figure_of(page, "contracts-by-state", "Contractualisé") == "2"
    region = Region.objects.get(code="84").pk
    for href in [
        "/contrats/?state=contractualised",
        f"/contrats/?region={region}",
        f"/contrats/?wave={world.validated.pk}&state=contractualised",
        "/fiches-actions/?axis=innover",
        "/fiches-actions/?funder=bpifrance&line_status=committed",
        "/fiches-actions/?status=in_progress",
        "/derogations/?outcome=granted",
        "/derogations/?rule=codedelenvironnementartr1222",
        "/derogations/?state=decided",
    ]:
        assert f'href="{href}"' in page, href
    # The charts are the State's web components, with their figures as attributes.
    assert "<map-chart " in page and 'level="reg"' in page
    assert "<bar-chart " in page and "<pie-chart " in page
    # 8414 and 8401 have a contract; the map names Auvergne-Rhône-Alpes by its ISO code.
    assert '"ARA": 2' in page and '"NOR": 2' in page
    assert "/static/vendor/dsfr-chart/DSFRChart.js" in page


def test_filters_narrow_the_figures_and_the_links_keep_them(client, users, world):
    client.force_login(users["ministry"])
    page = unescape(client.get(DASHBOARD, {"axis": "innover"}).content.decode())
    assert "Chiffres filtrés" in page
    assert figure_of(page, "actions-by-axis", "Attirer") == "0"
    assert figure_of(page, "actions-by-axis", "Innover") == "2"
    assert 'href="/contrats/?axis=innover&state=contractualised"' in page
    assert 'href="/fiches-actions/?axis=innover&status=idea"' in page
    # The derogations list has no axis: its links do not pretend to filter on it.
    assert 'href="/derogations/?outcome=granted"' in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"region": "abc"}, "region", "Sélectionnez un choix valide"),
        ({"axis": "inconnu"}, "axis", "Sélectionnez un choix valide"),
        ({"since": "2026-13-45"}, "since", "Saisissez une date valide"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "until", "La fin de la période"),
        ({"wave": "999999"}, "wave", "Sélectionnez un choix valide"),
    ],
)
def test_a_refused_filter_is_said_on_its_field_and_filters_nothing(
    client, users, world, query, field, message
):
    client.force_login(users["ministry"])
    response = client.get(DASHBOARD, query)
    assert response.status_code == 200
    page = unescape(response.content.decode())
    error = page.split(f'id="id_{field}-desc-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert "Les chiffres ci-dessous ne sont pas filtrés" in page
    assert figure_of(page, "actions-by-axis", "Attirer") == "2"  # unfiltered


def test_a_region_cannot_filter_on_another_region(client, users, world):
    client.force_login(users["region84"])
    normandie = Region.objects.get(code="28").pk
    page = unescape(client.get(DASHBOARD, {"region": normandie}).content.decode())
    assert "Sélectionnez un choix valide" in page
    assert "Normandie" not in page
    assert figure_of(page, "actions-by-axis", "Attirer") == "2"


def test_the_page_writes_french(client, users, world):
    for role in ("ministry", "region84"):
        client.force_login(users[role])
        for query in ({}, {"since": "bad"}):
            page = unescape(client.get(DASHBOARD, query).content.decode())
            assert plain_spaces_before_punctuation(page) == [], (role, query)
    assert "Périmètre\u00a0: national" in page or "Périmètre\u00a0: Région" in page


def pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[\u00a0\u202f]", " ", text)


def test_the_committee_report_says_what_changed_since_the_session(client, users, world):
    client.force_login(users["steering"])
    since = timezone.localdate() - timedelta(days=2)
    response = client.get(REPORT, {"since": since.isoformat()})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "point-d-etape-" in response["Content-Disposition"]
    text = pdf_text(response)
    assert "Point d'étape du" in text
    assert "Périmètre : national" in text
    assert "Depuis la séance du" in text
    submitted = [c for c in world.contracts.values() if c.submitted_at]
    assert f"{len(submitted)} nouveaux contrats déposés" in text
    for contract in submitted:
        assert contract.reference in text
    assert "1 vague validée" in text and "Vague de Lyon" in text
    assert "7 décisions" in text
    assert "4 territoires sur 148 ont un contrat" in text


def test_the_report_of_a_region_is_its_region(client, users, world):
    client.force_login(users["region84"])
    text = pdf_text(client.get(REPORT, {"since": "2000-01-01"}))
    assert "Région Auvergne-Rhône-Alpes" in text
    assert world.contracts["A1"].reference in text
    assert world.contracts["N1"].reference not in text
    assert "Normandie" not in text


def test_the_report_date_is_checked(client, users, world):
    client.force_login(users["ministry"])
    default = client.get(REPORT)
    assert default.status_code == 200
    thirty = timezone.localdate() - timedelta(days=30)
    assert f"Depuis la séance du {thirty.day}" in pdf_text(default).replace("1er", "1")
    refused = client.get(REPORT, {"since": "demain"})
    assert refused.status_code == 400
    page = unescape(refused.content.decode())
    assert "Saisissez une date valide" in page.split('id="report_since-desc-error"', 1)[1]
    future = client.get(REPORT, {"since": (timezone.localdate() + timedelta(days=3)).isoformat()})
    assert future.status_code == 400
    assert "ne peut être à venir" in unescape(future.content.decode())


def test_open_statistics_are_public_and_national(client, world):
    response = client.get("/api/stats/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["territoires"]["total"] == 148
    assert data["territoires"]["ayant_un_contrat"] == 4
    assert data["financements"]["demande"] == 165000.0
    assert data["financements"]["engage"] == 55000.0
    expected = json.loads(
        json.dumps(open_statistics(stats.dashboard(NATIONAL, NO_FILTERS)), default=str)
    )
    assert {k: v for k, v in data.items() if k not in ("date", "calcule_le")} == expected


def test_open_statistics_hold_no_personal_data_and_no_case(client, world):
    body = client.get("/api/stats/").content.decode()
    assert "@" not in body
    for user in User.objects.all():
        assert user.email not in body
        assert user.get_full_name() not in body
        assert user.last_name not in body
    for reference in Case.objects.values_list("reference", flat=True):
        assert reference not in body
    assert not re.search(r"\b(CT|DE)-\d", body)
    for contract in world.contracts.values():
        assert contract.title not in body
        assert contract.territory.name not in body
    assert "Porteur" not in body and "Fiche 1" not in body
    # The legal texts: those of several requests only (the labour code is asked once).
    texts = json.loads(body)["derogations"]["textes_les_plus_vises"]
    assert [text["demandes"] for text in texts] == [3]
    assert "Code du travail" not in body


def test_the_same_data_are_the_same_figures_for_every_national_role(client, users, world):
    pages = []
    for role in ("ministry", "steering"):
        client.force_login(users[role])
        pages.append(client.get("/tableau-de-bord/export/financements.csv").content)
    assert pages[0] == pages[1]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def dashboard_queries(client) -> tuple[int, int, int]:
    """Queries of the page with no figures kept (computed while the reader waits), with
    figures behind the data (served, a refresh queued) and with current figures."""
    cache.clear()
    DashboardSnapshot.objects.all().delete()
    cold = count_queries(client, DASHBOARD)
    current = count_queries(client, DASHBOARD)
    DashboardSnapshot.objects.update(generation="(0,)")
    behind = count_queries(client, DASHBOARD)
    return cold, behind, current


def test_queries_stay_few_and_do_not_grow_with_the_data(client, users, world):
    """Measured on the known data set, then again with five times more contracts: the same
    number of queries, whether the figures are computed, behind or current."""
    small = {}
    for role in ("ministry", "region84"):
        client.force_login(users[role])
        small[role] = dashboard_queries(client)
        assert max(small[role][1:]) <= 10, small[role]
        # The first computation runs every block's aggregates while the reader waits: bounded
        # too, so that a block's new queries are seen (the signatures' block took 7, now 3).
        assert small[role][0] <= 24, small[role]
    codes = ["8403", "8404", "8405", "2804", "2805", "2806", "8406", "8407", "2807", "2808"]
    for number, code in enumerate(codes * 3):
        make_contract(
            world.actors,
            code,
            ["draft", "regional_review", "signed_off"][number % 3],
            [
                ("attirer", "1000", [("state", "100"), ("region", "50")]),
                ("innover", "2000", [("bpifrance", "300")]),
            ],
        )
    factories.derogation_in_state("decided", territory_code="8405")
    for role in ("ministry", "region84"):
        client.force_login(users[role])
        assert dashboard_queries(client) == small[role], role
    # The exports and the open statistics, warm, as few.
    client.force_login(users["ministry"])
    client.get("/tableau-de-bord/export/fiches.csv")
    assert count_queries(client, "/tableau-de-bord/export/fiches.csv") <= 10
    client.logout()
    client.get("/api/stats/")
    # The database time-outs' two statements, the generation, the kept figures.
    assert count_queries(client, "/api/stats/") <= 4


def test_the_warm_page_within_ten_queries(client, users, world, django_assert_max_num_queries):
    client.force_login(users["steering"])
    client.get(DASHBOARD, {"axis": "recruter"})
    with django_assert_max_num_queries(10):
        assert client.get(DASHBOARD, {"axis": "recruter"}).status_code == 200

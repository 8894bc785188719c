"""The territory list (/territoires/): scoped, in French alphabetical order, searchable without
minding accents or case, paginated; reachable from the menu."""

from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programme.home.collation import fold, french_key
from programme.home.views import TERRITORIES_PER_PAGE
from territories.models import Territory
from tests import factories
from tests.cases.kernel.test_french import plain_spaces_before_punctuation
from tests.cases.page import Page

pytestmark = pytest.mark.django_db
URL = "/territoires/"


def test_the_key_sorts_the_french_way():
    names = ["Évry", "Zèbre", "Bretagne", "béthune", "Epernay", "Étampes", "Œuvre", "Oise", "Eu"]
    assert sorted(names) != sorted(names, key=french_key)  # code points put É after Z
    assert sorted(names, key=french_key) == [
        "béthune",
        "Bretagne",
        "Epernay",
        "Étampes",
        "Eu",
        "Évry",
        "Œuvre",
        "Oise",
        "Zèbre",
    ]


def test_accents_and_case_decide_only_between_equal_letters():
    assert sorted(["côte", "Cote", "cote", "coté"], key=french_key) == [
        "cote",
        "Cote",
        "coté",
        "côte",
    ]
    assert fold("Évry-Corbeil - Villaroche") == "evry-corbeil - villaroche"
    assert fold("Vallée de l’Arve") == fold("VALLEE DE L'ARVE")


def names_on(client, query: str = "") -> list[str]:
    """Every territory name the list shows, page after page."""
    names, page = [], 1
    while True:
        response = client.get(URL, {"q": query, "page": page} if query else {"page": page})
        assert response.status_code == 200
        table = Page(response.content.decode()).find_all("tbody")
        names += [row.find_all("a")[0].text for row in table[0].find_all("tr")] if table else []
        if f"page={page + 1}" not in response.content.decode():
            return names
        page += 1


def test_ministry_reads_every_territory_in_french_order_over_pages(client):
    client.force_login(factories.ministry_agent())
    names = names_on(client)
    assert len(names) == Territory.objects.count() == 148
    assert names == sorted(names, key=french_key)
    assert names.index("Béthune-Bruay") < names.index("Bretagne Romantique")
    evry = names.index("Évry-Corbeil - Villaroche")
    assert names[evry - 1].startswith("Epernay") and names[evry + 1].startswith("Flandre")


def test_pages_hold_twenty_rows_and_a_dsfr_pagination(client):
    client.force_login(factories.ministry_agent())
    html = client.get(URL).content.decode()
    page = Page(html)
    assert len(page.find_all("tbody")[0].find_all("tr")) == TERRITORIES_PER_PAGE
    assert "148\u00a0territoires d'industrie" in unescape(html)
    assert "Page 1 sur 8" in html and 'class="fr-pagination"' in html
    last = client.get(URL, {"page": 8}).content.decode()
    assert len(Page(last).find_all("tbody")[0].find_all("tr")) == 148 - 7 * TERRITORIES_PER_PAGE
    # A page past the end or not a number shows a real page, never an error.
    assert "Page 8 sur 8" in client.get(URL, {"page": 99}).content.decode()
    assert "Page 1 sur 8" in client.get(URL, {"page": "x"}).content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("evry", "Évry-Corbeil - Villaroche"),
        ("ÉVRY", "Évry-Corbeil - Villaroche"),
        ("bethune", "Béthune-Bruay"),
        ("1103", "Évry-Corbeil - Villaroche"),
        ("faucigny", "Vallée de l'Arve"),  # CC Faucigny-Glières, one of its EPCI
        ("vallee de l’arve", "Vallée de l'Arve"),
    ],
)
def test_search_ignores_accents_and_case_on_name_code_and_epci(client, query, expected):
    client.force_login(factories.ministry_agent())
    names = names_on(client, query)
    assert expected in names
    assert len(names) < 10


def test_search_keeps_the_query_across_pages(client):
    client.force_login(factories.ministry_agent())
    html = client.get(URL, {"q": "pays"}).content.decode()
    assert "q=pays&amp;page=2" in html
    assert 'value="pays"' in html


def test_search_without_a_match_says_so(client):
    client.force_login(factories.ministry_agent())
    html = unescape(client.get(URL, {"q": "Atlantide"}).content.decode())
    assert "Aucun territoire ne correspond à «\u00a0Atlantide\u00a0»." in html


def test_epci_agent_reads_only_its_territory_even_by_search(client):
    client.force_login(factories.epci_agent("200000172"))
    assert names_on(client) == ["Vallée de l'Arve"]
    assert names_on(client, "caen") == []
    assert "Caen" not in client.get(URL, {"q": "caen"}).content.decode()


def test_region_reviewer_reads_the_territories_its_region_pilots(client):
    client.force_login(factories.region_reviewer("28"))
    names = names_on(client)
    expected = list(
        Territory.objects.filter(pilot_region__code="28").values_list("name", flat=True)
    )
    assert sorted(names) == sorted(expected) and "Caen Industrie" in names
    assert names == sorted(names, key=french_key)
    assert "Vallée de l'Arve" not in names


def test_operator_has_no_territory_and_is_pointed_at_its_home(client):
    client.force_login(factories.operator_agent())
    html = client.get(URL).content.decode()
    assert "Aucun territoire ne relève directement de votre organisation." in html
    assert "<tbody>" not in html


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_menu_leads_to_home_and_territories_and_follows_the_page(client):
    client.force_login(factories.ministry_agent())
    html = client.get(URL).content.decode()
    nav = Page(html).by_id("fr-navigation")
    links = {a.text.strip(): a.attrs for a in nav.find_all("a")}
    assert "Mes territoires" not in links
    assert links["Territoires"]["href"] == reverse("territory-list")
    assert links["Territoires"].get("aria-current") == "page"
    assert "aria-current" not in links["Accueil"]
    detail = Page(client.get(reverse("territory-detail", args=["8414"])).content.decode())
    links = {a.text.strip(): a.attrs for a in detail.by_id("fr-navigation").find_all("a")}
    assert links["Territoires"].get("aria-current") == "true"
    home = Page(client.get("/").content.decode())
    links = {a.text.strip(): a.attrs for a in home.by_id("fr-navigation").find_all("a")}
    assert links["Accueil"].get("aria-current") == "page"
    assert "aria-current" not in links["Territoires"]


def test_territory_page_leads_back_to_the_list(client):
    client.force_login(factories.region_reviewer("84"))
    html = client.get(reverse("territory-detail", args=["8414"])).content.decode()
    breadcrumb = Page(html).find_all("nav", **{"class": "fr-breadcrumb"})[0]
    assert reverse("territory-list") in {a.attrs.get("href") for a in breadcrumb.find_all("a")}


@pytest.mark.parametrize("query", ["", "pays"])
def test_queries_do_not_depend_on_the_number_of_territories(
    client, query, django_assert_max_num_queries
):
    counts = []
    for user in (factories.epci_agent("200000172"), factories.ministry_agent()):
        client.force_login(user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL, {"q": query}).status_code == 200
        counts.append(len(captured.captured_queries))
        with django_assert_max_num_queries(10):
            client.get(URL, {"q": query, "page": 2})
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("query", ["", "evry", "Atlantide"])
def test_french_typography(client, query):
    client.force_login(factories.ministry_agent())
    html = unescape(client.get(URL, {"q": query}).content.decode())
    assert plain_spaces_before_punctuation(html) == []

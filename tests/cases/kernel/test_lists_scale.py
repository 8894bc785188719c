"""The lists at scale: queries per page constant as the data grows, keyset pages that give
every row once and in order, filters that return exactly their rows, bad filters refused in
French, and scoping (another Region's rows never listed)."""

import re
from datetime import timedelta
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.kernel.lists import CASE_ORDER
from cases.kernel.pagination import Keyset, paginate
from cases.management.commands.seed_scale import build
from cases.models import (
    ActionSheet,
    Case,
    DerogationRequest,
    FinancingLine,
    TerritoryContract,
    Wave,
    WaveItem,
)
from cases.waves.selectors import waves_for_user
from tests import factories

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10
NEXT = re.compile(r'href="\?([^"]*cursor=[^"#]+)[^"]*"\s*>Page suivante')
PREVIOUS = re.compile(r'href="\?([^"]*cursor=[^"#]+)[^"]*"\s*>Page précédente')
CONTRACT_REF = re.compile(r'href="/contrats/(CT-\d{4}-\d+)/"')


def seed(count: int) -> None:
    call_command("seed_scale", contracts=count, stdout=StringIO())


def synthetic(email: str) -> User:
    return User.objects.get(email=f"{email}@synthetique.invalid")


def next_query(html: str) -> str | None:
    found = NEXT.search(html)
    return unescape(found.group(1)) if found else None


def data_queries(captured) -> list[str]:
    """The page's queries, without the two statements config.middleware wraps every web
    request in (its lock and statement timeouts, set then reset), which fetch nothing."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SELECT set_config(", "RESET "))
    ]


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(data_queries(captured)), response.content.decode()


def page_urls(client, wave=None) -> dict[str, str]:
    """Every measured page, the contract list's third page reached through its cursors."""
    first = reverse("contract-list")
    html = client.get(first).content.decode()
    second = f"{first}?{next_query(html)}"
    third = f"{first}?{next_query(client.get(second).content.decode())}"
    urls = {
        "contracts": first,
        "contracts, page 3": third,
        "contracts, filtered": f"{first}?state=signed_off&axis=innover&funder=bpifrance",
        "derogations": reverse("derogation-list"),
        "derogations, filtered": reverse("derogation-list") + "?state=decided&since=2019-01-01",
        "fiches-actions": reverse("action-list"),
        "fiches-actions, filtered": reverse("action-list")
        + "?axis=attirer&funder=region&line_status=committed",
        "tasks": reverse("task-list"),
    }
    if wave is not None:
        urls["wave"] = reverse("wave-detail", args=[wave.pk])
        urls["wave, searched"] = reverse("wave-detail", args=[wave.pk]) + "?q=CT-"
    return urls


@pytest.mark.parametrize("who", ["ministere-1", "region-84-1"])
def test_queries_per_page_do_not_grow_with_the_data(client, reference_data, who):
    seed(60)
    user = synthetic(who)
    client.force_login(user)
    # The planned wave (with its search) for the ministry, a wave of its contracts for the
    # Region; the same wave at both sizes.
    wave = waves_for_user(user).order_by("-date", "pk").first()
    assert wave is not None
    small = {name: queries(client, url)[0] for name, url in page_urls(client, wave).items()}
    build(600, seed=7)
    assert TerritoryContract.objects.count() == 660
    large = {name: queries(client, url)[0] for name, url in page_urls(client, wave).items()}
    assert small == large
    assert max(large.values()) <= MAX_QUERIES, large


def test_no_count_over_every_row_and_no_offset(client, reference_data):
    seed(80)
    client.force_login(synthetic("ministere-1"))
    planned = Wave.objects.get(state="planned")
    for name, url in page_urls(client, planned).items():
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        for query in captured.captured_queries:
            sql = query["sql"].upper()
            assert " OFFSET " not in sql, (name, sql)
            if "COUNT(" in sql and "FROM (SELECT" in sql:
                assert "LIMIT 1001" in sql, (name, sql)


def walk(client, url: str, pattern=NEXT, limit: int = 200) -> list[list[str]]:
    """The references of each page, following the « Page suivante » links (``url`` may carry
    filters: the links carry them on)."""
    path = url.split("?")[0]
    pages, current = [], url
    for _ in range(limit):
        response = client.get(current)
        assert response.status_code == 200, current
        html = response.content.decode()
        pages.append(CONTRACT_REF.findall(html))
        found = pattern.search(html)
        if not found:
            return pages
        current = f"{path}?{unescape(found.group(1))}"
    raise AssertionError(f"more than {limit} pages: the cursor does not move")


def test_cursor_pages_give_every_row_once_in_order(client, reference_data):
    seed(130)
    # Ties on the date of update: the id keeps one order across pages.
    tied = timezone.now() - timedelta(days=1)
    Case.objects.filter(pk__in=TerritoryContract.objects.order_by("pk")[:45].values("pk")).update(
        updated_at=tied
    )
    client.force_login(synthetic("ministere-1"))
    pages = walk(client, reverse("contract-list"))
    seen = [reference for page in pages for reference in page]
    expected = list(
        TerritoryContract.objects.order_by("-updated_at", "-pk").values_list("reference", flat=True)
    )
    assert seen == expected
    assert len(pages) == 7 and all(len(page) == 20 for page in pages[:-1])
    # Back from the last page, « Page précédente » gives the pages again, in reverse.
    last_query = None
    html = client.get(reverse("contract-list")).content.decode()
    for _ in range(len(pages) - 1):
        last_query = next_query(html)
        html = client.get(f"{reverse('contract-list')}?{last_query}").content.decode()
    backwards = []
    while True:
        found = PREVIOUS.search(html)
        if not found:
            break
        html = client.get(f"{reverse('contract-list')}?{unescape(found.group(1))}").content.decode()
        backwards.append(CONTRACT_REF.findall(html))
    assert backwards == pages[-2::-1]


def test_keyset_pages_on_a_queryset_directly(reference_data):
    seed(50)
    order = Keyset((("updated_at", "datetime"), ("pk", "int")))
    rows = TerritoryContract.objects.all()
    Case.objects.update(updated_at=timezone.now())  # every date equal
    collected, cursor = [], None
    while True:
        page = paginate(rows, order, cursor, size=7)
        collected += [row.pk for row in page]
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert collected == sorted(collected, reverse=True)
    assert len(collected) == len(set(collected)) == 50
    assert order == CASE_ORDER


def contract_refs(client, query: dict) -> set[str]:
    refs: set[str] = set()
    url = reverse("contract-list")
    params = "&".join(f"{key}={value}" for key, value in query.items())
    for page in walk(client, f"{url}?{params}" if params else url):
        refs.update(page)
    return refs


def test_contract_filters_return_exactly_their_rows(client, reference_data):
    seed(150)
    client.force_login(synthetic("ministere-1"))
    contracts = TerritoryContract.objects.all()
    wave = Wave.objects.filter(state="validated", items__active=True).order_by("pk").first()
    in_wave = WaveItem.objects.filter(wave=wave, active=True).values("contract_id")
    day = timezone.localdate(
        contracts.filter(submitted_at__isnull=False).order_by("submitted_at")[60].submitted_at
    )
    cases = {
        "state": ({"state": "regional_review"}, contracts.filter(state="regional_review")),
        "wave": ({"wave": wave.pk}, contracts.filter(pk__in=in_wave)),
        "axis": ({"axis": "recruter"}, contracts.filter(actions__axis="recruter")),
        "funder": (
            {"funder": "france_travail"},
            contracts.filter(actions__financings__funder="france_travail"),
        ),
        "since": ({"since": day.isoformat()}, contracts.filter(submitted_at__date__gte=day)),
        "until": ({"until": day.isoformat()}, contracts.filter(submitted_at__date__lte=day)),
        "region": (
            {"region": contracts.first().territory.pilot_region_id},
            contracts.filter(territory__pilot_region=contracts.first().territory.pilot_region),
        ),
        "combined": (
            {"axis": "innover", "funder": "bpifrance", "state": "signed_off"},
            contracts.filter(
                state="signed_off",
                pk__in=ActionSheet.objects.filter(axis="innover").values("contract_id"),
            ).filter(
                pk__in=FinancingLine.objects.filter(funder="bpifrance").values(
                    "action__contract_id"
                )
            ),
        ),
    }
    for name, (query, expected) in cases.items():
        wanted = set(expected.values_list("reference", flat=True))
        assert wanted, name
        assert contract_refs(client, query) == wanted, name


ACTION_LINK = re.compile(r"<td>(\[Synthétique\] Fiche-action n°\xa0\d+ du contrat n°\xa0\d+)</td>")


def action_titles(client, query: str) -> list[str]:
    titles, url = [], reverse("action-list") + (f"?{query}" if query else "")
    for _ in range(200):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        titles += ACTION_LINK.findall(html)
        following = next_query(html)
        if not following:
            return titles
        url = f"{reverse('action-list')}?{following}"
    raise AssertionError("the cursor does not move")


def test_action_list_filters_and_scope(client, reference_data):
    seed(40)
    reviewer = synthetic("region-84-1")
    client.force_login(reviewer)
    mine = ActionSheet.objects.filter(contract__territory__pilot_region__code="84")
    listed = action_titles(client, "")
    assert set(listed) == set(mine.values_list("title", flat=True))
    assert len(listed) == len(set(listed))
    assert not set(listed) & set(
        ActionSheet.objects.exclude(contract__territory__pilot_region__code="84").values_list(
            "title", flat=True
        )
    )
    client.force_login(synthetic("ministere-1"))
    every = ActionSheet.objects.all()
    wave = Wave.objects.filter(state="validated", items__active=True).order_by("pk").first()
    filters = {
        "axis=innover&status=in_progress": every.filter(axis="innover", status="in_progress"),
        "funder=region&line_status=committed": every.filter(
            financings__funder="region", financings__status="committed"
        ),
        "line_status=declined": every.filter(financings__status="declined"),
        "state=contractualised": every.filter(contract__state="contractualised"),
        f"wave={wave.pk}": every.filter(
            contract__wave_items__wave=wave, contract__wave_items__active=True
        ),
        "region=" + str(mine.first().contract.territory.pilot_region_id): mine,
    }
    for query, expected in filters.items():
        wanted = set(expected.values_list("title", flat=True))
        assert wanted, query
        assert set(action_titles(client, query)) == wanted, query


def test_action_list_shows_requested_and_committed_apart(client, reference_data):
    contract = factories.contract_in_state("regional_review")
    action = contract.actions.get()
    FinancingLine.objects.create(
        action=action,
        funder="region",
        amount=10_000,
        status="committed",
        committed_amount=7_500,
    )
    client.force_login(factories.region_reviewer("84"))
    html = client.get(reverse("action-list")).content.decode()
    assert contract.reference in html
    assert "50\u202f000,00\u00a0€" in html  # 40 000 (factory line) + 10 000 requested
    assert "7\u202f500,00\u00a0€" in html  # committed
    assert "1\u00a0fiche-action" in html
    client.force_login(factories.region_reviewer("28"))
    assert contract.reference not in client.get(reverse("action-list")).content.decode()


def test_derogation_filters_rule_and_period(client, reference_data):
    seed(400)
    client.force_login(synthetic("ministere-1"))
    requests = DerogationRequest.objects.all()
    sample = requests.filter(submitted_at__isnull=False).order_by("submitted_at").first()
    key = sample.rule_reference_key
    for query, expected in {
        f"rule={key}": requests.filter(rule_reference_key=key),
        # Another spelling of the same text finds the same requests.
        "rule=" + sample.rule_reference.upper().replace(".", ""): requests.filter(
            rule_reference_key=key
        ),
        "state=decided&outcome=granted": requests.filter(state="decided", outcome="granted"),
        "since=2019-01-01&until=2100-01-01": requests.filter(submitted_at__isnull=False),
    }.items():
        html = client.get(reverse("derogation-list") + "?" + query).content.decode()
        listed = set(re.findall(r'href="/derogations/(DE-\d{4}-\d+)/"', html))
        wanted = set(expected.values_list("reference", flat=True))
        assert wanted, query
        if len(wanted) <= 20:
            assert listed == wanted, query
        else:
            assert listed <= wanted and len(listed) == 20, query


@pytest.mark.parametrize(
    ("url_name", "query", "message"),
    [
        ("contract-list", "since=05-03-2019x", "Saisissez une date valide"),
        ("contract-list", "since=2020-01-02&until=2020-01-01", "La date de fin doit suivre"),
        ("contract-list", "wave=abc", "Cette vague n'est pas dans la liste"),
        ("contract-list", "axis=voler", "Choisissez un axe de la liste"),
        ("contract-list", "funder=pole_emploi", "Choisissez un financeur de la liste"),
        ("contract-list", "region=99999", "Cette Région n'est pas dans la liste"),
        ("contract-list", "cursor=pas-un-curseur", "Le lien de page est invalide"),
        ("derogation-list", "until=31/02/2019", "Saisissez une date valide"),
        ("derogation-list", "rule=%E2%80%AEabc", "invisible"),
        ("action-list", "line_status=promis", "Choisissez un statut de financement"),
        ("action-list", "state=decided", "Choisissez un état de la liste"),
        ("action-list", "cursor=eyJrIjpbMV0sImIiOjF9", "Le lien de page est invalide"),
    ],
)
def test_bad_filters_answer_400_in_french_with_the_list_unfiltered(
    client, reference_data, url_name, query, message
):
    contract = factories.contract_in_state("regional_review")
    derogation = factories.derogation_in_state("regional_review")
    client.force_login(factories.ministry_agent())
    response = client.get(f"{reverse(url_name)}?{query}")
    html = unescape(response.content.decode())
    assert response.status_code == 400
    assert message in html
    assert "la liste n'est pas filtrée" in html or "voici la première page" in html
    shown = {"contract-list": contract.reference, "derogation-list": derogation.reference}
    assert shown.get(url_name, contract.reference) in html


def test_another_regions_contracts_are_never_listed(client, reference_data):
    seed(120)
    client.force_login(synthetic("region-84-1"))
    refs = contract_refs(client, {})
    assert refs == set(
        TerritoryContract.objects.filter(territory__pilot_region__code="84").values_list(
            "reference", flat=True
        )
    )
    # A filter on another Region is refused, not answered with its rows.
    other = TerritoryContract.objects.exclude(territory__pilot_region__code="84").first()
    response = client.get(reverse("contract-list"), {"region": other.territory.pilot_region_id})
    assert response.status_code == 400
    assert other.reference not in response.content.decode()
    response = client.get(reverse("contract-list"), {"territory": other.territory_id})
    assert response.status_code == 400
    # An EPCI agent lists its territory's contracts only.
    client.force_login(synthetic("epci-8414"))
    assert contract_refs(client, {}) == set(
        TerritoryContract.objects.filter(territory__code="8414").values_list("reference", flat=True)
    )


def test_counts_are_bounded(client, reference_data):
    seed(1100)
    client.force_login(synthetic("ministere-1"))
    html = client.get(reverse("contract-list")).content.decode()
    assert "Plus de 1\u202f000\u00a0contrats" in html
    html = client.get(reverse("contract-list"), {"state": "rejected"}).content.decode()
    count = TerritoryContract.objects.filter(state="rejected").count()
    assert f"{count}\u00a0contrats" in html


def test_wave_search_offers_at_most_twenty_and_adds_unchanged(client, reference_data):
    seed(700)
    minister = synthetic("ministere-1")
    client.force_login(minister)
    wave = Wave.objects.get(state="planned")
    page = client.get(reverse("wave-detail", args=[wave.pk])).content.decode()
    assert "<select" not in page
    offered = re.findall(r'name="contract" value="(\d+)"', page)
    assert len(offered) == 20
    assert "précisez la recherche" in page
    eligible = TerritoryContract.objects.filter(state="signed_off").exclude(wave_items__active=True)
    target = eligible.order_by("-pk").first()
    found = client.get(reverse("wave-detail", args=[wave.pk]), {"q": target.reference})
    offered = re.findall(r'name="contract" value="(\d+)"', found.content.decode())
    assert offered == [str(target.pk)]
    by_territory = client.get(
        reverse("wave-detail", args=[wave.pk]), {"q": target.territory.name[:6]}
    ).content.decode()
    for pk in re.findall(r'name="contract" value="(\d+)"', by_territory):
        assert eligible.filter(pk=pk, territory__name__icontains=target.territory.name[:6])
    response = client.post(
        reverse("wave-add", args=[wave.pk]), {"contract": target.pk, "version": wave.version}
    )
    assert response.status_code == 302
    assert WaveItem.objects.filter(wave=wave, contract=target, active=True).exists()
    # The checks are those of the add action: a contract not signed off is refused.
    draft = TerritoryContract.objects.filter(state="draft").first()
    wave.refresh_from_db()
    refused = client.post(
        reverse("wave-add", args=[wave.pk]), {"contract": draft.pk, "version": wave.version}
    )
    assert refused.status_code == 400
    refused_page = unescape(refused.content.decode())
    assert "Rien n'a été enregistré" in refused_page
    # The refused form offers the contract sent, not every contract a wave may take.
    assert len(re.findall(r"<option", refused_page)) == 2
    assert not WaveItem.objects.filter(contract=draft).exists()


def test_filter_form_keeps_the_choices_made(client, reference_data):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    region = contract.territory.pilot_region_id
    html = client.get(
        reverse("contract-list"), {"state": "regional_review", "axis": "innover", "region": region}
    ).content.decode()
    assert '<option value="regional_review" selected>' in html
    assert '<option value="innover" selected>' in html
    assert f'<option value="{region}" selected>' in html
    assert '<select class="fr-select" id="id_state" name="state">' in html
    assert contract.reference in html

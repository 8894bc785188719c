"""The wave's page at scale: its contracts and its history are keyset pages, in a constant
number of queries whatever the wave's size; the count, the totals and the derogations are
of the whole wave (of what the viewer may see of it); the exports, the search and the
composing actions are not paged."""

import csv
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import ActionSheet, FinancingLine, WaveEvent
from cases.waves import services as waves
from cases.waves import views as wave_views
from tests import factories

pytestmark = pytest.mark.django_db

PAGE = 3
CONTRACT_ROW = re.compile(r'<td><a href="/contrats/(CT-\d{4}-\d+)/">')
HISTORY = re.compile(r'<div class="fr-table" id="wave-history">.*?</table>', re.S)


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(wave_views, "WAVE_PAGE_SIZE", PAGE)


def data_queries(captured) -> list[str]:
    """Without the two statements config.middleware wraps every request in."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SELECT set_config(", "RESET "))
    ]


def get(client, url: str, status: int = 200) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == status, url
    return len(data_queries(captured)), response.content.decode()


def link(html: str, section: str, label: str) -> str | None:
    """The query string of the section's « Page suivante » (or « Page précédente »)."""
    pattern = rf'href="\?([^"]*section={section}&amp;cursor=[^"#]+)[^"]*"\s*>{label}'
    found = re.search(pattern, html)
    return unescape(found.group(1)) if found else None


def walk(client, wave, section: str, read) -> tuple[list[list[str]], list[int]]:
    """Each page's rows read by ``read`` and its number of queries, following the links."""
    url = reverse("wave-detail", args=[wave.pk])
    pages, counts, current = [], [], url
    for _ in range(50):
        count, html = get(client, current)
        pages.append(read(html))
        counts.append(count)
        following = link(html, section, "Page suivante")
        if following is None:
            return pages, counts
        current = f"{url}?{following}"
    raise AssertionError("the cursor does not move")


def contract_rows(html: str) -> list[str]:
    table = html[html.index('id="wave-contracts"') : html.index('id="wave-axes"')]
    return CONTRACT_ROW.findall(table)


def history_rows(html: str) -> list[str]:
    table = HISTORY.search(html).group(0)
    return [
        re.sub(r"[ \t\n]+", " ", unescape(re.sub(r"<[^>]+>", "", cell))).strip()
        for cell in re.findall(r"<tr>\s*<td>.*?</td>\s*<td>.*?</td>\s*<td>(.*?)</td>", table, re.S)
    ]


def priced_wave(count: int, name: str):
    """A planned wave of ``count`` contracts, each of its own cost and financing, so that a
    page's sums differ from the wave's."""
    wave, minister = factories.wave_of(count, name=name)
    for number, contract in enumerate(waves.contracts_of(wave), start=1):
        ActionSheet.objects.filter(contract=contract).update(total_cost=Decimal(1000 * number))
        FinancingLine.objects.filter(action__contract=contract).update(amount=Decimal(10 * number))
    return wave, minister


def page_queries(client, wave) -> tuple[int, ...]:
    """The queries of the wave's first page, of the second page of each list (reached by
    its cursor) and of a search for a contract to add."""
    url = reverse("wave-detail", args=[wave.pk])
    first, html = get(client, url)
    contracts, _ = get(client, f"{url}?{link(html, 'contracts', 'Page suivante')}")
    history, _ = get(client, f"{url}?{link(html, 'history', 'Page suivante')}")
    searched, _ = get(client, f"{url}?q=CT-")
    return first, contracts, history, searched


@pytest.mark.parametrize("validated", [False, True], ids=["planned", "validated"])
def test_queries_per_page_do_not_grow_with_the_wave(client, monkeypatch, validated):
    small, minister = priced_wave(5, "Petite vague")
    large, _ = priced_wave(30, "Grande vague")
    if validated:
        for wave in (small, large):
            waves.wave_validate(wave=wave, actor=minister)
    viewers = {"ministère": minister, "Région": factories.region_reviewer("84")}
    for who, viewer in viewers.items():
        client.force_login(viewer)
        counted = {wave.name: page_queries(client, wave) for wave in (small, large)}
        assert counted["Petite vague"] == counted["Grande vague"], (who, counted)
        assert max(counted["Grande vague"]) <= 10, (who, counted)
        # Nor with the rows of a page: no query per contract or per event shown.
        monkeypatch.setattr(wave_views, "WAVE_PAGE_SIZE", 2 * PAGE)
        assert page_queries(client, large) == counted["Grande vague"], who
        monkeypatch.setattr(wave_views, "WAVE_PAGE_SIZE", PAGE)


def test_every_contract_and_every_event_once_in_order(client):
    wave, minister = priced_wave(8, "Vague de huit")
    removed = waves.contracts_of(wave).last()
    waves.wave_remove_contract(wave=wave, actor=minister, contract=removed)
    client.force_login(minister)
    pages, _ = walk(client, wave, "contracts", contract_rows)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [ref for page in pages for ref in page] == [
        contract.reference for contract in waves.contracts_of(wave)
    ]
    pages, _ = walk(client, wave, "history", history_rows)
    assert [row for page in pages for row in page] == [
        "création",
        *(f"ajout de {event.payload['contract']}" for event in wave.events.filter(seq__gt=1)[:8]),
        f"retrait de {removed.reference}",
    ]
    assert len(pages) == 4
    # « Page précédente » from the last page of the history gives the one before it.
    url = reverse("wave-detail", args=[wave.pk])
    html = client.get(url).content.decode()
    for _ in range(3):
        html = client.get(f"{url}?{link(html, 'history', 'Page suivante')}").content.decode()
    before = client.get(f"{url}?{link(html, 'history', 'Page précédente')}").content.decode()
    assert history_rows(before) == pages[2]
    # Paging one list leaves the other on its first page.
    assert contract_rows(before) == contract_rows(client.get(url).content.decode())


def test_the_count_and_totals_are_of_the_whole_wave(client):
    wave, minister = priced_wave(7, "Vague chiffrée")
    contracts = list(waves.contracts_of(wave))
    by_axis, by_funder = waves.totals(contracts)
    assert by_funder == [("Bpifrance", Decimal("280.00"), Decimal("0"))]  # 10 × (1 + … + 7)
    client.force_login(minister)
    _, html = get(client, reverse("wave-detail", args=[wave.pk]))
    assert len(contract_rows(html)) == PAGE
    assert ">7\u00a0contrats" in html
    funders = html[html.index('id="wave-funders"') :]
    assert "<td>Bpifrance</td><td>280,00\u00a0€</td><td>0,00\u00a0€</td>" in funders
    axes = html[html.index('id="wave-axes"') : html.index('id="wave-funders"')]
    assert "<td>Innover</td><td>28\u202f000,00\u00a0€</td>" in axes  # 1 000 × (1 + … + 7)
    assert dict(by_axis)["Innover"] == Decimal("28000.00")
    # The confirmation lists every contract, not a page of them.
    confirm = client.get(reverse("wave-validate", args=[wave.pk])).content.decode()
    assert all(contract.reference in confirm for contract in contracts)
    assert "Valider les 7 contrats" in confirm


def test_a_party_pages_only_its_own_contracts_and_their_history(client):
    wave, minister = priced_wave(12, "Vague partagée")
    waves.wave_validate(wave=wave, actor=minister)
    mine = [c for c in waves.contracts_of(wave) if c.territory.code == "8401"]
    assert len(mine) == 2
    siren = mine[0].territory.intercommunalities.order_by("siren")[0].siren
    client.force_login(factories.epci_agent(siren))
    pages, _ = walk(client, wave, "contracts", contract_rows)
    assert pages == [[c.reference for c in mine]]
    pages, _ = walk(client, wave, "history", history_rows)
    assert [row for page in pages for row in page] == [
        "création",
        *(f"ajout de {contract.reference}" for contract in mine),
        "validation (2\u00a0contrats)",
    ]
    _, html = get(client, reverse("wave-detail", args=[wave.pk]))
    assert ">2\u00a0contrats" in html and ">4\u00a0événements" in html
    # The stored chain is untouched by what the page leaves out.
    assert len(WaveEvent.objects.get(wave=wave, name="validate").payload["contracts"]) == 12


def test_a_bad_cursor_answers_400_with_the_first_page(client):
    wave, minister = priced_wave(4, "Vague au curseur")
    client.force_login(minister)
    url = reverse("wave-detail", args=[wave.pk])
    for section in ("contracts", "history"):
        _, html = get(client, f"{url}?section={section}&cursor=pas-un-curseur", status=400)
        assert "Le lien de page est invalide ou périmé" in unescape(html)
        assert len(contract_rows(html)) == PAGE and "création" in history_rows(html)


def test_composing_works_from_any_page_and_exports_cover_the_whole_wave(client):
    wave, minister = priced_wave(5, "Vague à composer")
    client.force_login(minister)
    url = reverse("wave-detail", args=[wave.pk])
    html = client.get(url).content.decode()
    second = client.get(f"{url}?{link(html, 'contracts', 'Page suivante')}").content.decode()
    last = waves.contracts_of(wave).last()
    assert last.reference in contract_rows(second)
    assert reverse("wave-remove", args=[wave.pk, last.pk]) in second
    wave.refresh_from_db()
    response = client.post(
        reverse("wave-remove", args=[wave.pk, last.pk]), {"version": wave.version}
    )
    assert response.status_code == 302
    assert last not in waves.contracts_of(wave)
    # The removed contract waits again: the search finds it, and adding it works.
    searched = client.get(f"{url}?q={last.reference}").content.decode()
    assert f'value="{last.pk}"' in searched
    wave.refresh_from_db()
    added = client.post(
        reverse("wave-add", args=[wave.pk]), {"contract": last.pk, "version": wave.version}
    )
    assert added.status_code == 302 and last in waves.contracts_of(wave)
    response = client.get(reverse("wave-export", args=[wave.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert {c.reference for c in waves.contracts_of(wave)} <= {row[0] for row in rows[1:]}
    assert "Valider la vague…" in client.get(url).content.decode()
    wave.refresh_from_db()
    response = client.post(reverse("wave-validate", args=[wave.pk]), {"version": wave.version})
    assert response.status_code == 302
    wave.refresh_from_db()
    assert wave.state == "validated"
    assert len(WaveEvent.objects.get(wave=wave, name="validate").payload["contracts"]) == 5

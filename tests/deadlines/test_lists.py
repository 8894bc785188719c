"""Due dates in the lists and the inbox: the column, « En retard » and « Bientôt dû » badges
and filters, the soonest first (cases with nothing due last), and the dashboard's links."""

import re
from datetime import date, datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases.kernel import services
from cases.kernel.pagination import Keyset, paginate
from cases.models import Case
from deadlines.models import Clock
from tests import factories

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
LINK = re.compile(r'href="/contrats/([A-Z0-9-]+)/"')
TASK_ROW = re.compile(r"<tr>.*?</tr>", re.S)


def at(*args):
    return time_machine.travel(datetime(*args, 10, 0, tzinfo=PARIS), tick=False)


@pytest.fixture
def four(reference_data):
    """On 15 June 2026: one contract late, one due soon, one due later, one draft."""
    with at(2026, 4, 20):
        late = factories.contract_in_state("regional_review")
    with at(2026, 4, 30):
        soon = factories.contract_in_state("regional_review")  # due 17 June
    with at(2026, 6, 10):
        later = factories.contract_in_state("regional_review")
    draft = factories.contract_in_state("draft")
    return {"late": late, "soon": soon, "later": later, "draft": draft}


def references(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    table = body[body.index('id="contracts"') :]
    return list(dict.fromkeys(LINK.findall(table)))


def mentions(text: str, reference: str) -> re.Match | None:
    return re.search(rf"{re.escape(reference)}(?!\d)", text)


def row_of(body: str, reference: str) -> str:
    (row,) = [row for row in TASK_ROW.findall(body) if mentions(row, reference)]
    return row


def position(body: str, reference: str) -> int:
    found = mentions(body, reference)
    assert found, reference
    return found.start()


def test_the_case_keeps_a_copy_of_its_clocks_due_date(four):
    for name in ("late", "soon", "later"):
        case = Case.objects.get(pk=four[name].pk)
        assert case.due_on is not None and case.due_on == Clock.objects.get(case=case).due_on
    assert Case.objects.get(pk=four["soon"].pk).due_on == date(2026, 6, 17)
    assert Case.objects.get(pk=four["draft"].pk).due_on is None
    # A request for changes pauses the clock: nothing is due until the next submission.
    reviewer = factories.region_reviewer("84")
    contract = four["soon"]
    contract.refresh_from_db()
    services.case_request_changes(case=contract, actor=reviewer, comment="Complétez.")
    assert Case.objects.get(pk=contract.pk).due_on is None


def test_the_list_shows_filters_and_sorts_by_due_date(client, four):
    client.force_login(factories.ministry_agent())
    ref = {name: contract.reference for name, contract in four.items()}
    with at(2026, 6, 15):
        body = client.get("/contrats/").content.decode()
        assert '<th scope="col">Réponse attendue</th>' in body
        assert 'data-due="late">En retard</p>' in row_of(body, ref["late"])
        assert "17\u00a0juin 2026" in row_of(body, ref["soon"])
        assert 'data-due="soon">Bientôt dû</p>' in row_of(body, ref["soon"])
        assert "data-due" not in row_of(body, ref["later"])
        assert "<td>—</td>" in row_of(body, ref["draft"])

        assert references(client, "/contrats/?due=late") == [ref["late"]]
        assert references(client, "/contrats/?due=soon") == [ref["soon"]]
        assert references(client, "/contrats/?sort=due") == [
            ref["late"],
            ref["soon"],
            ref["later"],
            ref["draft"],
        ]
    # Two days later the soon one is late too: the badges are counted from today.
    with at(2026, 6, 18):
        assert references(client, "/contrats/?due=late&sort=due") == [ref["late"], ref["soon"]]


def test_bad_due_filters_are_refused_in_french_and_filter_nothing(client, four):
    client.force_login(factories.ministry_agent())
    for query, message in (
        ("due=bientot", "Choisissez une échéance de la liste."),
        ("sort=titre", "Choisissez un ordre de la liste."),
    ):
        for url in ("/contrats/", "/derogations/", "/taches/"):
            response = client.get(f"{url}?{query}")
            assert response.status_code == 400, url
            body = unescape(response.content.decode())
            assert message in body and "la liste n'est pas filtrée" in body, url


def test_a_cursor_of_another_order_is_refused(client, four):
    client.force_login(factories.ministry_agent())
    updated = Keyset((("updated_at", "datetime"), ("pk", "int")))
    cursor = updated.encode([four["late"].updated_at, four["late"].pk], backwards=False)
    response = client.get(f"/contrats/?sort=due&cursor={cursor}")
    assert response.status_code == 400
    assert "Le lien de page est invalide" in unescape(response.content.decode())


def test_pages_sorted_by_due_date_cross_the_cases_with_none_both_ways(reference_data):
    contracts = [factories.contract_in_state("draft", actions=0) for _ in range(7)]
    dues = [
        date(2026, 6, 2),
        None,
        date(2026, 6, 1),
        None,
        date(2026, 6, 2),
        date(2026, 7, 1),
        None,
    ]
    for contract, due_on in zip(contracts, dues, strict=True):
        Case.objects.filter(pk=contract.pk).update(due_on=due_on)
    rows = Case.objects.filter(pk__in=[c.pk for c in contracts])
    expected = sorted(
        (c.pk for c in contracts),
        key=lambda pk: (dues[[c.pk for c in contracts].index(pk)] or date.max, pk),
    )
    order = Keyset((("due_on", "date"), ("pk", "int")), descending=False, nulls_last=True)

    forward, page = [], paginate(rows, order, None, size=2)
    pages = [page]
    forward.extend(row.pk for row in page)
    while page.next_cursor:
        page = paginate(rows, order, page.next_cursor, size=2)
        pages.append(page)
        forward.extend(row.pk for row in page)
    assert forward == expected and len(pages) == 4

    backward = [row.pk for row in page]
    while page.previous_cursor:
        page = paginate(rows, order, page.previous_cursor, size=2)
        backward = [row.pk for row in page] + backward
    assert backward == expected


def test_the_inbox_shows_filters_and_sorts_by_due_date(client, four):
    reviewer = factories.region_reviewer("84")
    client.force_login(reviewer)
    ref = {name: contract.reference for name, contract in four.items()}
    with at(2026, 6, 15):
        body = client.get("/taches/").content.decode()
        assert '<th scope="col">Réponse attendue</th>' in body
        assert 'data-due="late"' in row_of(body, ref["late"])
        assert 'data-due="soon"' in row_of(body, ref["soon"])
        late_only = client.get("/taches/?due=late").content.decode()
        assert mentions(late_only, ref["late"])
        assert not mentions(late_only, ref["soon"]) and not mentions(late_only, ref["later"])
        by_due = client.get("/taches/?sort=due").content.decode()
    positions = [position(by_due, ref[name]) for name in ("late", "soon", "later")]
    assert positions == sorted(positions)
    assert position(body, ref["late"]) < position(body, ref["soon"])


def test_an_opinion_task_is_due_when_its_opinion_is(client, reference_data):
    from accounts.models import Organisation
    from cases.derogations import services as derogations

    operator = factories.operator_agent("Bpifrance")
    derogation = factories.derogation_in_state("ministerial_review")
    with at(2026, 6, 1):
        derogations.opinion_request(
            case=derogation,
            actor=factories.ministry_agent(),
            organisation=Organisation.objects.get(operator="bpifrance"),
            due_on=date(2026, 6, 20),
            question="Votre avis ?",
        )
    client.force_login(operator)
    with at(2026, 6, 16):
        body = client.get("/taches/").content.decode()
        row = row_of(body, derogation.reference)
        assert "20\u00a0juin 2026" in row and 'data-due="soon"' in row
    with at(2026, 6, 22):
        assert derogation.reference in client.get("/taches/?due=late").content.decode()


def test_the_dashboards_due_figures_link_to_the_cases_they_count(client, four):
    client.force_login(factories.ministry_agent())
    with at(2026, 6, 15):
        body = unescape(client.get("/tableau-de-bord/").content.decode())
        table = body[body.index('id="due-by-region"') :]
        table = table[: table.index("</table>")]
        links = dict(
            (label, href)
            for href, label in re.findall(
                r'<a class="fr-link fr-text--sm" href="([^"]+)">(\d+)', table
            )
        )
        late_link = next(href for href in re.findall(r'href="([^"]+due=late[^"]*)"', table))
        assert "state=regional_review" in late_link and "sort=due" in late_link
        assert references(client, late_link) == [four["late"].reference]
        soon_link = next(href for href in re.findall(r'href="([^"]+due=soon[^"]*)"', table))
        assert references(client, soon_link) == [four["soon"].reference]
        open_link = links["3"]
        assert "due=" not in open_link
        assert set(references(client, open_link)) == {
            four[name].reference for name in ("late", "soon", "later")
        }

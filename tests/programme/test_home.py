"""The home page of each role, on a known data set in Auvergne-Rhône-Alpes (8414, Vallée de
l'Arve) and Normandie (2802, Caen Industrie): its sections, their counts and links, what stays
out of scope, and a number of queries that does not grow with the data."""

from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task

from accounts.models import Organisation
from cases.contracts import services as contract_services
from cases.derogations import services as derogations
from cases.kernel import services
from cases.models import FinancingLine, Opinion
from cases.waves import services as waves
from programme.home.selectors import SECTION_SIZE
from programme.home.views import DASHBOARD_PATH
from territories.models import Region
from tests import factories
from tests.cases.kernel.test_french import plain_spaces_before_punctuation
from tests.cases.page import Page
from workflows.engine import OPEN_STATUSES

pytestmark = pytest.mark.django_db
CHANGES_COMMENT = "Précisez le calendrier de la fiche-action 1."
PRIVATE_NOTE = "Note interne : le porteur semble fragile"
NBSP = "\u00a0"


def open_task_of(case) -> Task:
    return Task.objects.get(process__caseprocess__case_id=case.pk, status__in=OPEN_STATUSES)


@pytest.fixture
def world():
    """Cases in every state the home pages show, in two Regions, and one user per role."""
    agent = factories.epci_agent("200000172")  # CC Faucigny-Glières, in 8414
    region = factories.region_reviewer("84")
    colleague = factories.region_reviewer("84")
    minister = factories.ministry_agent()
    operator = factories.operator_agent("Bpifrance")
    bpifrance = Organisation.objects.get(operator="bpifrance")

    draft = factories.contract_in_state("draft", author=agent)
    sent_back = factories.contract_in_state("regional_review", author=agent)
    services.comment_add(case=sent_back, actor=region, body=PRIVATE_NOTE, private=True)
    services.run_transition(
        case=sent_back, actor=region, name="request_changes", comment=CHANGES_COMMENT
    )
    in_review = factories.contract_in_state("regional_review", author=agent)
    taken = factories.contract_in_state("regional_review", author=agent)
    from workflows.services import task_assign

    task_assign(task=open_task_of(taken), actor=region)
    ministerial = factories.contract_in_state("ministerial_review", author=agent)
    signed = factories.contract_in_state("signed_off", author=agent)
    rejected = factories.contract_in_state("rejected", author=agent)
    derogation_draft = factories.derogation_in_state("draft", author=agent)
    derogation_review = factories.derogation_in_state("regional_review", author=agent)
    derogation_forwarded = factories.derogation_in_state("ministerial_review", author=agent)

    caen_ministerial = factories.contract_in_state("ministerial_review", territory_code="2802")
    caen_signed = factories.contract_in_state("signed_off", territory_code="2802")
    caen_draft = factories.contract_in_state("draft", territory_code="2802")
    caen_review = factories.derogation_in_state("regional_review", territory_code="2802")
    caen_forwarded = factories.derogation_in_state("ministerial_review", territory_code="2802")

    # Two waves: a past one (planned still, not the next), a future one holding Caen's contract.
    past_wave, _ = factories.wave_of(1, name="Vague passée")
    next_wave = waves.wave_create(
        actor=minister,
        name="Vague de Normandie",
        date=timezone.localdate() + timedelta(days=30),
        place="Caen",
    )
    waves.wave_add_contract(wave=next_wave, actor=minister, contract=caen_signed)
    later_wave = waves.wave_create(
        actor=minister,
        name="Vague suivante",
        date=timezone.localdate() + timedelta(days=90),
        place="Lyon",
    )

    # Opinions asked of Bpifrance: one due later, one overdue (its date moved into the past).
    later = derogations.opinion_request(
        case=derogation_forwarded,
        actor=minister,
        organisation=bpifrance,
        due_on=timezone.localdate() + timedelta(days=10),
        question="Le projet est-il finançable ?",
    )
    overdue = derogations.opinion_request(
        case=caen_forwarded,
        actor=minister,
        organisation=bpifrance,
        due_on=timezone.localdate() + timedelta(days=1),
        question="Avis sur l'emploi ?",
    )
    Opinion.objects.filter(pk=overdue.pk).update(due_on=date(2019, 4, 1))
    # Bpifrance committed 30 000 € of the 40 000 € asked on the signed contract's line.
    FinancingLine.objects.filter(action__contract=signed).update(
        status="committed", committed_amount=Decimal("30000"), committed_on=date(2019, 6, 1)
    )
    return locals()


def get(client, user, path="/"):
    """The page's raw HTML (to parse: « &region » unescaped would read as « ®ion ») and its
    text with the entities resolved (to search)."""
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    raw = response.content.decode()
    return raw, unescape(raw)


def table_text(raw: str, table_id: str) -> str:
    return Page(raw).by_id(table_id).text


def hrefs(raw: str) -> set[str]:
    return {a.attrs.get("href", "") for a in Page(raw).find_all("a")}


def test_epci_agent_sees_drafts_changes_asked_and_decisions(client, world):
    w = world
    raw, html = get(client, w["agent"])
    drafts = table_text(raw, "epci-drafts")
    for case in (w["draft"], w["sent_back"], w["derogation_draft"]):
        assert case.reference in drafts
    assert "Brouillons\u00a0: 3\u00a0dossiers" in html
    assert "2\u00a0contrats en brouillon" in html
    assert "1\u00a0demande de dérogation en brouillon" in html
    links = hrefs(raw)
    assert "/contrats/?state=draft" in links and "/derogations/?state=draft" in links
    assert reverse("contract-create") in links and reverse("derogation-create") in links

    changes = table_text(raw, "epci-changes")
    assert w["sent_back"].reference in changes and w["draft"].reference not in changes
    assert CHANGES_COMMENT in changes
    assert "Modifications demandées\u00a0: 1\u00a0dossier" in html

    decisions = table_text(raw, "epci-decisions")
    assert w["signed"].reference in decisions and w["rejected"].reference in decisions
    assert "Validation ministérielle" in decisions and "Rejet" in decisions
    assert w["in_review"].reference not in decisions
    rows = [
        row.text for row in Page(raw).by_id("epci-decisions").find_all("tbody")[0].find_all("tr")
    ]
    # Latest first: the rejection came after the sign-off; its reason is shown.
    assert w["rejected"].reference in rows[0] and "Motif" in rows[0]
    assert w["signed"].reference in rows[1]


def test_epci_agent_never_sees_a_private_note_nor_another_territory(client, world):
    w = world
    _raw, html = get(client, w["agent"])
    assert "Note interne" not in html and "fragile" not in html
    for case in ("caen_ministerial", "caen_signed", "caen_draft", "caen_review", "caen_forwarded"):
        assert w[case].reference not in html, case
    # The Region's and ministry's sections are not theirs.
    assert 'id="region"' not in html and 'id="ministry"' not in html


def test_epci_agent_without_cases_sees_empty_states_in_french(client, world):
    # CA Lamballe Terre et Mer, the whole of territory 5303, which has no case yet.
    raw, html = get(client, factories.epci_agent("200069391"))
    assert "Aucun dossier ne vous a été renvoyé pour modifications." in html
    assert "Aucun brouillon en cours." in html
    assert "Aucune décision sur vos dossiers pour l'instant." in html
    assert reverse("contract-create") in hrefs(raw)


def test_region_reviewer_sees_its_queue_with_counts(client, world):
    w = world
    raw, html = get(client, w["region"])
    queue = table_text(raw, "region-queue")
    for case in ("in_review", "taken", "derogation_review"):
        assert w[case].reference in queue, case
    assert w["caen_review"].reference not in queue
    assert "À prendre\u00a0: 2" in html
    assert "Prises par moi\u00a0: 1" in html
    assert "Prises par un collègue\u00a0: 0" in html

    raw, html = get(client, w["colleague"])
    assert "À prendre\u00a0: 2" in html
    assert "Prises par moi\u00a0: 0" in html
    assert "Prises par un collègue\u00a0: 1" in html


def test_region_reviewer_sees_its_cases_by_state_with_links(client, world):
    w = world
    region = Region.objects.get(code="84")
    raw, html = get(client, w["region"])
    states = Page(raw).by_id(f"region-{region.pk}-states")
    rows = {
        row.find_all("th")[0].text.strip(): [
            cell.text.replace("sans objet", "").strip() for cell in row.find_all("td")
        ]
        for row in states.find_all("tr")
        if row.find_all("th", scope="row")
    }
    # 8414: draft + sent back; in review + taken; ministerial; signed + the past wave's (8401).
    assert rows["Brouillon"] == ["2", "1"]
    assert rows["Instruction régionale"] == ["2", "1"]
    assert rows["Validation ministérielle"] == ["1", "1"]
    assert rows["Validé par le ministère"] == ["2", "—"]
    assert rows["Rejeté"] == ["1", "—"]
    assert rows["Décidé"] == ["—", "0"]
    links = hrefs(raw)
    assert f"/contrats/?state=draft&region={region.pk}" in links, sorted(links)
    assert f"/derogations/?state=ministerial_review&region={region.pk}" in links
    assert "8\u00a0contrats" in html  # 2 + 2 + 1 + 2 + 1


def test_region_reviewer_sees_what_it_must_give_an_opinion_on(client, world):
    w = world
    raw, html = get(client, w["region"])
    opinions = table_text(raw, "region-opinions")
    assert w["derogation_review"].reference in opinions
    assert w["derogation_forwarded"].reference not in opinions  # already has the Region's
    assert "Demandes de dérogation sans avis de la Région\u00a0: 1" in html
    for case in ("caen_ministerial", "caen_signed", "caen_draft", "caen_review", "caen_forwarded"):
        assert w[case].reference not in html, case
    assert PRIVATE_NOTE not in html


def test_ministry_agent_sees_what_to_sign_off_and_the_next_wave(client, world):
    w = world
    raw, html = get(client, w["minister"])
    to_sign = table_text(raw, "ministry-sign-off")
    assert w["ministerial"].reference in to_sign and w["caen_ministerial"].reference in to_sign
    assert "Contrats en validation ministérielle\u00a0: 2" in html

    without_wave = table_text(raw, "ministry-without-wave")
    assert w["signed"].reference in without_wave
    assert w["caen_signed"].reference not in without_wave  # in the next wave
    assert "Contrats validés hors de toute vague\u00a0: 1" in html

    card = Page(raw).by_id("next-wave").text
    assert "Vague de Normandie" in card and "Vague passée" not in card
    assert "Vague suivante" not in card
    assert "Caen\u00a0: 1\u00a0contrat" in card
    next_wave = w["next_wave"]
    assert reverse("wave-detail", args=[next_wave.pk]) in hrefs(raw)
    assert f"/contrats/?wave={next_wave.pk}" in hrefs(raw)

    to_decide = table_text(raw, "ministry-decide")
    assert w["derogation_forwarded"].reference in to_decide
    assert w["caen_forwarded"].reference in to_decide
    assert w["derogation_review"].reference not in to_decide
    assert "Demandes de dérogation en validation ministérielle\u00a0: 2" in html


def test_ministry_without_any_wave_planned_says_so(client, world):
    w = world
    for wave in (w["next_wave"], w["later_wave"], w["past_wave"]):
        waves.wave_cancel(wave=wave, actor=w["minister"])
    raw, html = get(client, w["minister"])
    assert "Aucune vague n'est prévue." in html
    # Cancelled, Caen's contract is signed off and in no wave again.
    assert w["caen_signed"].reference in table_text(raw, "ministry-without-wave")


def test_operator_sees_its_opinions_overdue_first_and_its_financing(client, world):
    w = world
    raw, html = get(client, w["operator"])
    opinions = Page(raw).by_id("operator-opinions")
    rows = [row.text for row in opinions.find_all("tr")[1:]]
    assert [
        w["caen_forwarded"].reference in rows[0],
        w["derogation_forwarded"].reference in rows[1],
    ] == [
        True,
        True,
    ]
    assert "1er\u00a0avril 2019" in rows[0] and "En retard" in rows[0]
    assert "En retard" not in rows[1]
    assert "2\u00a0avis en attente, dont 1 en retard." in html
    assert reverse("opinion-answer", args=[w["later"].pk]) in hrefs(raw)

    contracts = table_text(raw, "operator-contracts")
    # Every submitted contract asks Bpifrance 40 000 € (one fiche-action each); drafts never
    # submitted stay the EPCI's own work.
    submitted = ["sent_back", "in_review", "taken", "ministerial", "signed", "rejected"]
    for case in [*submitted, "caen_ministerial", "caen_signed"]:
        assert w[case].reference in contracts, case
    assert w["draft"].reference not in contracts and w["caen_draft"].reference not in contracts
    signed_row = next(
        row.text
        for row in Page(raw).by_id("operator-contracts").find_all("tr")
        if w["signed"].reference in row.text
    )
    assert f"40\u202f000,00{NBSP}€" in signed_row and f"30\u202f000,00{NBSP}€" in signed_row
    # 6 of 8414, 2 of Caen, 1 of the past wave: 9 contracts, 9 fiches-actions.
    assert "Contrats qui sollicitent votre organisation\u00a0: 9" in html
    assert (
        f"9\u00a0fiches-actions\u00a0: 360\u202f000,00{NBSP}€ demandés, "
        f"30\u202f000,00{NBSP}€ engagés." in html
    )


def test_operator_not_consulted_nor_funder_sees_empty_states(client, world):
    _raw, html = get(client, factories.operator_agent("Business France"))
    assert "Aucun avis n'a été demandé à votre organisation." in html
    assert "Aucun contrat déposé ne sollicite de financement de votre organisation." in html
    assert world["signed"].reference not in html


def test_steering_member_is_sent_to_the_dashboard(client, world):
    client.force_login(factories.steering_member())
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_PATH == "/tableau-de-bord/"


def test_several_roles_show_each_section_in_order(client, world):
    user = world["agent"]
    from accounts.models import Membership, Role

    Membership.objects.create(
        user=user, organisation=factories.region_organisation("84"), role=Role.REGION_REVIEWER
    )
    Membership.objects.create(
        user=user,
        organisation=factories.national_organisation(Organisation.Kind.MINISTRY, "Ministère (DGE)"),
        role=Role.STEERING_MEMBER,
    )
    raw, html = get(client, user)
    positions = [html.index(f'id="{section}"') for section in ("epci", "region")]
    assert positions == sorted(positions)
    assert DASHBOARD_PATH in hrefs(raw)  # steering too: a link rather than a redirect


def test_user_without_organisation_is_told_so(client, world):
    _raw, html = get(client, factories.UserFactory())
    assert "Votre compte n'est rattaché à aucune organisation." in html


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_more_than_a_section_shows_ten_rows_and_a_link_to_all(client, world):
    agent = world["agent"]
    territory = world["draft"].territory
    for number in range(SECTION_SIZE):
        contract_services.contract_create(
            territory=territory, actor=agent, title=f"Brouillon {number}"
        )
    raw, html = get(client, agent)
    rows = Page(raw).by_id("epci-drafts").find_all("tbody")[0].find_all("tr")
    assert len(rows) == SECTION_SIZE
    assert "Brouillons\u00a0: 13\u00a0dossiers" in html
    assert "Tout voir (contrats)" in html


def grow(w) -> None:
    """More of everything each home page lists, past a section's ten rows."""
    agent, territory = w["agent"], w["draft"].territory
    for number in range(SECTION_SIZE + 1):
        contract_services.contract_create(
            territory=territory, actor=agent, title=f"Brouillon {number}"
        )
    for _ in range(3):
        factories.contract_in_state("regional_review", author=agent)
        factories.contract_in_state("ministerial_review", territory_code="2802")
        factories.contract_in_state("signed_off", territory_code="2802")
    request = factories.derogation_in_state("ministerial_review", territory_code="2802")
    derogations.opinion_request(
        case=request,
        actor=w["minister"],
        organisation=Organisation.objects.get(operator="bpifrance"),
        due_on=timezone.localdate() + timedelta(days=5),
        question="Avis ?",
    )
    factories.derogation_in_state("regional_review", author=agent)


def queries_of(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_queries_per_home_page_do_not_grow_with_the_data(
    client, world, django_assert_max_num_queries
):
    users = {name: world[name] for name in ("agent", "region", "minister", "operator")}
    before = {name: queries_of(client, user) for name, user in users.items()}
    grow(world)
    after = {name: queries_of(client, user) for name, user in users.items()}
    assert after == before, (before, after)
    for user in users.values():
        client.force_login(user)
        with django_assert_max_num_queries(10):
            client.get("/")


@pytest.mark.parametrize("name", ["agent", "region", "minister", "operator"])
def test_home_pages_use_french_typography(client, world, name):
    _raw, html = get(client, world[name])
    assert plain_spaces_before_punctuation(html) == []


def test_region_table_follows_the_review_order(client, world):
    region = Region.objects.get(code="84")
    raw, _ = get(client, world["region"])
    table = Page(raw).by_id(f"region-{region.pk}-states")
    labels = [th.text.strip() for th in table.find_all("th", scope="row")]
    assert labels == [
        "Brouillon",
        "Instruction régionale",
        "Validation ministérielle",
        "Validé par le ministère",
        "Décidé",
        "Contractualisé",
        "Rejeté",
        "Retiré",
    ]

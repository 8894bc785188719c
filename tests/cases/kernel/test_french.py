"""French typography: the filters, and the pages and messages that use them."""

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse

from cases.contracts import services as contract_services
from cases.derogations.calls import load_real_calls
from cases.kernel import french, services
from cases.models import CallForProjects
from tests import factories

NBSP, NNBSP = "\u00a0", "\u202f"


def render(source: str, **context) -> str:
    return Template("{% load fr %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1300000"), f"1{NNBSP}300{NNBSP}000,00{NBSP}€"),
        (Decimal("1250000.5"), f"1{NNBSP}250{NNBSP}000,50{NBSP}€"),
        (Decimal("999.99"), f"999,99{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("-1500"), f"-1{NNBSP}500,00{NBSP}€"),
        (1300000, f"1{NNBSP}300{NNBSP}000,00{NBSP}€"),
    ],
)
def test_euros(amount, expected):
    assert french.euros(amount) == expected
    assert render("{{ amount|euros }}", amount=amount) == expected


def test_euros_without_cents_and_empty():
    assert render("{{ a|euros_ronds }}", a=Decimal("1300000.40")) == f"1{NNBSP}300{NNBSP}000{NBSP}€"
    assert render("[{{ a|euros }}]", a=None) == "[]"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 5, 1), f"1er{NBSP}mai 2019"),
        (date(2019, 4, 30), f"30{NBSP}avril 2019"),
        (date(2018, 12, 20), f"20{NBSP}décembre 2018"),
        (date(2020, 8, 2), f"2{NBSP}août 2020"),
    ],
)
def test_date_fr(day, expected):
    assert render("{{ day|date_fr }}", day=day) == expected


def test_datetime_and_time_fr_in_paris_time():
    moment = datetime(2019, 5, 1, 18, 43, tzinfo=UTC)  # 20:43 in Paris (summer time)
    assert render("{{ m|datetime_fr }}", m=moment) == f"1er{NBSP}mai 2019 à 20{NBSP}h{NBSP}43"
    assert render("{{ m|time_fr }}", m=moment) == f"20{NBSP}h{NBSP}43"
    assert render("{{ t|time_fr }}", t=time(9, 5)) == f"9{NBSP}h{NBSP}05"
    assert "20:43" not in render("{{ m|datetime_fr }}", m=moment)


@pytest.mark.parametrize(
    ("count", "words", "expected"),
    [
        (0, "contrat", "Aucun contrat"),
        (1, "contrat", f"1{NBSP}contrat"),
        (2, "contrat", f"2{NBSP}contrats"),
        (1500, "contrat", f"1{NNBSP}500{NBSP}contrats"),
        (0, "demande,demandes,f", "Aucune demande"),
        (3, "fiche-action,fiches-actions,f", f"3{NBSP}fiches-actions"),
        (2, "appel à projets,appels à projets", f"2{NBSP}appels à projets"),
    ],
)
def test_compte(count, words, expected):
    assert render("{{ n|compte:words }}", n=count, words=words) == expected


def test_typo_puts_no_break_spaces_and_escapes():
    expected = f"Motif{NBSP}: «{NBSP}oui{NBSP}»{NNBSP}; non{NNBSP}? si{NNBSP}!"
    assert render("{{ t|typo }}", t="Motif : « oui » ; non ? si !") == expected
    assert render("{{ t|typo }}", t="10:30 <b> :") == f"10:30 &lt;b&gt;{NBSP}:"


def test_call_dates():
    closes = datetime(2019, 4, 30, 22, 0, tzinfo=UTC)  # 1 May 00:00 in Paris
    assert french.call_end(closes) == f"30{NBSP}avril 2019 inclus"
    assert french.call_end(datetime(2019, 5, 1, 12, 0, tzinfo=UTC)) == (
        f"1er{NBSP}mai 2019 à 14{NBSP}h{NBSP}00"
    )


class TextNodes(HTMLParser):
    """The text a reader sees inside <main>, without scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth, self.skip, self.texts = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        if tag in ("script", "style", "template"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        if tag in ("script", "style", "template"):
            self.skip -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.texts.append(data)


def visible_text(page: str) -> list[str]:
    parser = TextNodes()
    parser.feed(page)
    return parser.texts


def plain_spaces_before_punctuation(page: str) -> list[str]:
    text = "".join(visible_text(page))
    assert text.strip(), "no <main> in the page"
    return re.findall(r".{0,30} [:;?!](?:\s|$)", text)


@pytest.mark.django_db
def test_contract_page_shows_amounts_with_no_break_spaces(client):
    contract = factories.contract_in_state("draft", actions=0)
    contract_services.action_save(
        case=contract,
        actor=contract.created_by,
        expected_version=factories.contract_version(contract),
        fields={
            "title": "Usine",
            "axis": "innover",
            "project_owner": "Porteur",
            "total_cost": Decimal("1300000"),
        },
        financings=[{"funder": "region", "amount": Decimal("250000"), "status": "requested"}],
    )
    client.force_login(contract.created_by)
    page = unescape(
        client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    )
    assert f"1{NNBSP}300{NNBSP}000,00{NBSP}€" in page
    assert f"Région{NBSP}: 250{NNBSP}000,00{NBSP}€" in page
    assert "1 300 000" not in page and "floatformat" not in page
    assert f"5{NBSP}mars 2019" in page  # the period, with date_fr
    assert plain_spaces_before_punctuation(page) == []


@pytest.mark.django_db
def test_real_call_is_open_until_30_april_inclusive(client):
    load_real_calls()
    call = CallForProjects.objects.get()
    client.force_login(factories.epci_agent("200000172"))
    page = unescape(client.get(reverse("call-detail", args=[call.pk])).content.decode())
    assert f"20{NBSP}décembre 2018 au 30{NBSP}avril 2019 inclus" in page
    assert f"jusqu'au 30{NBSP}avril 2019 inclus" in page
    assert "1 mai" not in page and "00:00" not in " ".join(visible_text(page))
    assert plain_spaces_before_punctuation(page) == []
    listing = client.get(reverse("call-list")).content.decode()
    assert f"30{NBSP}avril 2019 inclus" in listing and "00:00" not in listing.replace("T00:00", "")


@pytest.mark.django_db
def test_late_submission_names_the_last_day_of_the_call():
    load_real_calls()
    request = factories.derogation_in_state("draft")
    request.call = CallForProjects.objects.get(name__startswith="France Expérimentation")
    request.save(update_fields=["call"])
    with pytest.raises(services.InvalidInput) as error:
        services.case_submit(case=request, actor=request.created_by)
    problems = " ".join(error.value.problems)
    assert f"était ouvert jusqu'au 30{NBSP}avril 2019 inclus" in problems
    assert "1 mai" not in problems


@pytest.mark.django_db
def test_stale_edit_message_writes_the_time_in_french():
    with time_machine.travel(datetime(2019, 5, 1, 18, 43, tzinfo=UTC), tick=False):
        contract = factories.contract_in_state("draft", actions=0)
    with pytest.raises(services.StaleCase) as error:
        contract_services.contract_update(
            case=contract, actor=contract.created_by, expected_version=0, changes={"title": "X"}
        )
    assert f"le 1er{NBSP}mai 2019 à 20{NBSP}h{NBSP}43" in error.value.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "label"), [(1, "Valider le contrat"), (2, "Valider les 2 contrats")]
)
def test_wave_confirm_button_names_the_contracts(client, count, label):
    wave, minister = factories.wave_of(count)
    client.force_login(minister)
    page = unescape(client.get(reverse("wave-validate", args=[wave.pk])).content.decode())
    assert label in page
    assert "contrat(s)" not in page and "1 contrats" not in page
    detail = client.get(reverse("wave-detail", args=[wave.pk])).content.decode()
    assert f"{count}{NBSP}contrat" in detail


@pytest.mark.django_db
def test_lists_without_contracts_say_aucun(client):
    client.force_login(factories.epci_agent("200000172"))
    page = client.get(reverse("contract-list")).content.decode()
    assert "Aucun contrat" in page and "0 contrat" not in page
    assert "Aucune demande" in client.get(reverse("derogation-list")).content.decode()


@pytest.mark.django_db
def test_messages_made_in_python_get_no_break_spaces(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"transition": "submit", "version": contract.version},
        follow=True,
    )
    page = unescape(response.content.decode())
    assert (
        f"C'est fait{NBSP}: le dossier est maintenant «{NBSP}Instruction régionale{NBSP}»" in page
    )
    assert plain_spaces_before_punctuation(page) == []

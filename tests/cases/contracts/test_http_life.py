"""The whole life of a contract through HTTP, each party logged in with their own account."""

import pytest
from django.urls import reverse

from cases.models import Case, CaseEvent, TerritoryContract
from territories.models import Territory
from tests import factories

pytestmark = pytest.mark.django_db


def post(client, url, data, **extra):
    response = client.post(url, data, **extra)
    assert response.status_code == 302, response.content.decode()[-3000:]
    return response


def test_full_life_of_a_contract(client):
    agent = factories.epci_agent("200000172")
    reviewer = factories.region_reviewer("84")
    ministry = factories.ministry_agent()
    client.force_login(agent)

    response = post(
        client,
        reverse("contract-create"),
        {
            "territory": Territory.objects.get(code="8414").pk,
            "title": "Contrat de territoire Vallée de l'Arve",
            "period_start": "2019-03-05",
            "period_end": "2022-12-31",
            "elected_lead_name": "Claude Dupont",
            "elected_lead_role": "Vice-président chargé du développement économique",
        },
    )
    contract = TerritoryContract.objects.get()
    assert response["Location"] == reverse("contract-detail", args=[contract.reference])
    detail = reverse("contract-detail", args=[contract.reference])

    post(
        client,
        reverse("action-create", args=[contract.reference]),
        {
            "version": contract.version,
            "title": "Plateforme de décolletage 4.0",
            "axis": "innover",
            "project_owner": "Syndicat national du décolletage",
            "total_cost": "1250000,50",
            "status": "idea",
            "fin-TOTAL_FORMS": "2",
            "fin-INITIAL_FORMS": "0",
            "fin-0-funder": "bpifrance",
            "fin-0-amount": "500000",
            "fin-1-funder": "region",
            "fin-1-amount": "250000",
        },
    )
    page = client.get(detail).content.decode()
    assert "Plateforme de décolletage 4.0" in page
    assert "1\u202f250\u202f000,50\xa0€" in page  # the cost, also in the "Innover" total
    assert "750\u202f000,00\xa0€" in page  # total financing

    contract.refresh_from_db()
    post(
        client,
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "submit"},
    )
    assert Case.objects.get(pk=contract.pk).state == "regional_review"

    client.force_login(reviewer)
    page = client.get(detail).content.decode()
    assert 'value="approve"' in page and 'value="sign_off"' not in page
    contract.refresh_from_db()
    post(
        client,
        reverse("contract-transition", args=[contract.reference]),
        {
            "version": contract.version,
            "transition": "request_changes",
            "comment": "Préciser le calendrier.",
        },
    )
    assert Case.objects.get(pk=contract.pk).state == "draft"

    client.force_login(agent)
    contract.refresh_from_db()
    post(
        client,
        reverse("contract-edit", args=[contract.reference]),
        {
            "version": contract.version,
            "title": contract.title,
            "summary": "Calendrier précisé.",
            "period_start": "2019-03-05",
            "period_end": "2022-12-31",
        },
    )
    contract.refresh_from_db()
    post(
        client,
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "submit"},
    )

    client.force_login(reviewer)
    contract.refresh_from_db()
    post(
        client,
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "approve"},
    )

    client.force_login(ministry)
    contract.refresh_from_db()
    post(
        client,
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "sign_off", "comment": "Validé."},
    )

    contract = TerritoryContract.objects.get(pk=contract.pk)
    assert contract.state == "signed_off"
    names = list(CaseEvent.objects.filter(case=contract).values_list("name", flat=True))
    assert names == [
        "create",
        "action_create",
        "submit",
        "acknowledgement",  # each submission's receipt, its PDF's hash in the chain
        "request_changes",
        "update",
        "submit",
        "acknowledgement",
        "approve",
        "sign_off",
    ]
    timeline = client.get(detail).content.decode()
    assert "Validation ministérielle" in timeline and "Demande de modifications" in timeline


def test_refused_transition_is_a_clear_message_and_changes_nothing(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.ministry_agent())
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "sign_off"},
        follow=True,
    )
    assert "Impossible de valider le dossier" in response.content.decode()
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


def test_non_html_clients_get_409_on_a_stale_version(client):
    contract = factories.contract_in_state("regional_review")
    reviewer = factories.region_reviewer("84")
    client.force_login(reviewer)
    url = reverse("contract-transition", args=[contract.reference])
    ok = client.post(
        url, {"version": contract.version, "transition": "approve"}, HTTP_ACCEPT="application/json"
    )
    assert ok.status_code == 200 and ok.json()["state"] == "ministerial_review"
    client.force_login(factories.region_reviewer("84"))
    late = client.post(
        url,
        {"version": contract.version, "transition": "reject", "comment": "Non"},
        HTTP_ACCEPT="application/json",
    )
    assert late.status_code == 409
    assert late.json()["error"].startswith("Ce dossier vient d'être modifié par")
    assert Case.objects.get(pk=contract.pk).state == "ministerial_review"


def test_stale_edit_form_names_who_changed_the_case(client):
    contract = factories.contract_in_state("draft")
    agent = factories.epci_agent("200033116", first_name="Camille", last_name="Martin")
    client.force_login(agent)
    url = reverse("contract-edit", args=[contract.reference])
    seen = contract.version
    post(
        client,
        url,
        {
            "version": seen,
            "title": "Premier titre",
            "period_start": "2019-03-05",
            "period_end": "2022-12-31",
        },
    )
    other = factories.epci_agent("200000172")
    client.force_login(other)
    response = client.post(
        url,
        {
            "version": seen,
            "title": "Second titre",
            "period_start": "2019-03-05",
            "period_end": "2022-12-31",
        },
    )
    assert response.status_code == 409
    assert "Ce dossier vient d&#x27;être modifié par Camille Martin" in response.content.decode()
    assert TerritoryContract.objects.get(pk=contract.pk).title == "Premier titre"


def test_invalid_amount_is_refused_in_french(client):
    contract = factories.contract_in_state("draft")
    client.force_login(factories.epci_agent("200000172"))
    response = client.post(
        reverse("action-create", args=[contract.reference]),
        {
            "version": contract.version,
            "title": "X",
            "axis": "innover",
            "project_owner": "Y",
            "total_cost": "-5",
            "status": "idea",
            "fin-TOTAL_FORMS": "1",
            "fin-INITIAL_FORMS": "0",
            "fin-0-funder": "bpifrance",
            "fin-0-amount": "",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Le montant ne peut pas être négatif." in html
    assert "Indiquez le montant de ce financement." in html
    assert contract.actions.count() == 1  # only the factory's action


def test_list_filters_and_scope(client):
    arve = factories.contract_in_state("regional_review")
    caen = factories.contract_in_state("draft", territory_code="2802")
    client.force_login(factories.ministry_agent())
    everything = client.get(reverse("contract-list")).content.decode()
    assert arve.reference in everything and caen.reference in everything
    filtered = client.get(reverse("contract-list"), {"state": "draft"}).content.decode()
    assert caen.reference in filtered and arve.reference not in filtered
    searched = client.get(reverse("contract-list"), {"q": "Caen"}).content.decode()
    assert caen.reference in searched and arve.reference not in searched
    client.force_login(factories.region_reviewer("84"))
    scoped = client.get(reverse("contract-list")).content.decode()
    assert arve.reference in scoped and caen.reference not in scoped


def test_admin_shows_contracts_read_only(client):
    contract = factories.contract_in_state("signed_off")
    client.force_login(factories.ministry_agent(is_staff=True, is_superuser=True))
    change = reverse("admin:cases_territorycontract_change", args=[contract.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="state"' not in page.content.decode()
    client.post(change, {"state": "contractualised"})
    assert Case.objects.get(pk=contract.pk).state == "signed_off"
    listing = client.get(reverse("admin:cases_territorycontract_changelist")).content.decode()
    assert contract.reference in listing and 'name="action"' not in listing


def form_fields(response) -> dict:
    """What the page's form would send as it stands: its inputs, textareas and selects."""
    from tests.cases.page import Page

    page = Page(response.content.decode())
    fields = {
        i.attrs["name"]: i.attrs.get("value", "")
        for i in page.find_all("input")
        if i.attrs.get("name") and i.attrs.get("type") != "submit"
    }
    fields.update({t.attrs["name"]: t.value for t in page.find_all("textarea")})
    for select in page.find_all("select"):
        chosen = [o for o in select.find_all("option") if "selected" in o.attrs]
        fields[select.attrs["name"]] = chosen[0].attrs.get("value", "") if chosen else ""
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_an_edit_made_stale_by_a_colleague_takes_both_changes_once_saved_again(client):
    """Two agents of the EPCI edit the same contract: the second, refused, gets the first
    one's title in the form beside their own summary, and saving again keeps both."""
    from cases.contracts import services as contract_services

    contract = factories.contract_in_state("draft")
    url = reverse("contract-edit", args=[contract.reference])
    client.force_login(factories.epci_agent("200000172"))
    typed = {**form_fields(client.get(url)), "summary": "Résumé de la seconde"}
    colleague = factories.epci_agent("200033116", first_name="Camille", last_name="Martin")
    contract_services.contract_update(
        case=contract,
        actor=colleague,
        expected_version=contract.version,
        changes={"title": "Titre de Camille"},
    )
    refused = client.post(url, typed)
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "Camille Martin" in text and "Rien n&#x27;est encore enregistré" in text
    returned = form_fields(refused)
    assert (returned["title"], returned["summary"]) == ("Titre de Camille", "Résumé de la seconde")
    assert TerritoryContract.objects.get(pk=contract.pk).summary == ""
    post(client, url, returned)
    saved = TerritoryContract.objects.get(pk=contract.pk)
    assert (saved.title, saved.summary) == ("Titre de Camille", "Résumé de la seconde")


def test_a_field_both_changed_keeps_the_input_and_shows_the_colleagues(client):
    from cases.contracts import services as contract_services
    from tests.cases.page import Page, error_of

    contract = factories.contract_in_state("draft")
    url = reverse("contract-edit", args=[contract.reference])
    client.force_login(factories.epci_agent("200000172"))
    typed = {**form_fields(client.get(url)), "title": "Mon titre"}
    contract_services.contract_update(
        case=contract,
        actor=factories.epci_agent("200033116"),
        expected_version=contract.version,
        changes={"title": "Son titre"},
    )
    refused = client.post(url, typed)
    assert refused.status_code == 409
    assert form_fields(refused)["title"] == "Mon titre"
    assert "Son titre" in error_of(Page(refused.content.decode()), "id_title")
    post(client, url, form_fields(refused))
    assert TerritoryContract.objects.get(pk=contract.pk).title == "Mon titre"


def _fiche_pages(client, contract):
    first, second = contract.actions.order_by("pk")
    urls = [reverse("action-edit", args=[contract.reference, a.pk]) for a in (first, second)]
    client.force_login(factories.epci_agent("200000172"))
    return first, second, urls


def test_a_fiche_saved_while_a_colleague_saved_another_is_taken_when_sent_again(client):
    from cases.contracts.models import ActionSheet

    contract = factories.contract_in_state("draft", actions=2)
    first, second, (url, other_url) = _fiche_pages(client, contract)
    typed = {**form_fields(client.get(url)), "description": "Un atelier partagé."}
    colleague = {**form_fields(client.get(other_url)), "schedule": "2027"}
    post(client, other_url, colleague)
    refused = client.post(url, typed)
    assert refused.status_code == 409
    returned = form_fields(refused)
    assert returned["description"] == "Un atelier partagé."
    post(client, url, returned)
    assert ActionSheet.objects.get(pk=first.pk).description == "Un atelier partagé."
    assert ActionSheet.objects.get(pk=second.pk).schedule == "2027"


def test_a_fiche_whose_lines_a_colleague_changed_is_not_merged(client):
    contract = factories.contract_in_state("draft", actions=2)
    _, _, (url, _) = _fiche_pages(client, contract)
    typed = {**form_fields(client.get(url)), "description": "Un atelier partagé."}
    colleague = {**typed, "description": "", "fin-0-amount": "55000"}
    post(client, url, colleague)
    refused = client.post(url, typed)
    assert refused.status_code == 409
    assert "rechargez la page" in refused.content.decode()
    assert client.post(url, form_fields(refused)).status_code == 409


def test_an_amount_both_changed_shows_the_colleagues_in_euros(client):
    from tests.cases.page import Page, error_of

    contract = factories.contract_in_state("draft", actions=2)
    _, _, (url, _) = _fiche_pages(client, contract)
    typed = {**form_fields(client.get(url)), "total_cost": "90 000"}
    post(client, url, {**typed, "total_cost": "125000,5"})
    refused = client.post(url, typed)
    assert refused.status_code == 409
    assert "«\u00a0125\u202f000,50\u00a0€\u00a0»" in error_of(
        Page(refused.content.decode()), "id_total_cost"
    )

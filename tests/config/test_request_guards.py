"""One answer, on every page, to a NUL in the address and to a GET on a POST-only address."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

NUL_URLS = [
    "/contrats/%00/",
    "/contrats/%00/modifier/",
    "/contrats/%00/fiches/nouvelle/",
    "/contrats/CT%00-2026/",
    "/derogations/%00/",
    "/derogations/%00/modifier/",
    "/derogations/%00/decision/",
    "/territoires/%00/",
    "/territoires/28%0002/",
    "/vagues/%00/",
    "/taches/%00/",
]


@pytest.fixture
def logged_in(client, settings):
    settings.DEBUG = False
    client.force_login(factories.ministry_agent())
    return client


@pytest.mark.parametrize("url", NUL_URLS)
def test_nul_in_an_address_is_the_french_not_found_page(logged_in, url):
    response = logged_in.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


@pytest.mark.parametrize("url", ["/contrats/%00/decision/", "/contrats/%00/commentaires/"])
def test_nul_in_a_posted_address_is_not_found(logged_in, url):
    response = logged_in.post(url, {"transition": "submit", "version": "1"})
    assert response.status_code == 404


@pytest.fixture
def contract():
    return factories.contract_in_state("draft", actions=0)


def test_get_on_a_post_only_address_is_a_french_page_back_to_the_case(client, contract):
    client.force_login(factories.ministry_agent())
    url = f"/contrats/{contract.reference}/decision/"
    response = client.get(url)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    body = response.content.decode()
    assert "Action impossible depuis cette adresse" in body
    assert f'href="/contrats/{contract.reference}/"' in body


@pytest.mark.parametrize(
    "suffix", ["decision/", "commentaires/", "documents/", "fiches/1/supprimer/"]
)
def test_every_post_only_contract_address_explains_itself(client, contract, suffix):
    client.force_login(factories.ministry_agent())
    response = client.get(f"/contrats/{contract.reference}/{suffix}")
    assert response.status_code == 405
    assert "Action impossible depuis cette adresse" in response.content.decode()
    assert "POST" in response["Allow"]


def test_the_way_back_is_the_referring_page_of_this_site(client, contract):
    client.force_login(factories.ministry_agent())
    response = client.get(
        f"/contrats/{contract.reference}/commentaires/",
        headers={"referer": "http://testserver/taches/?page=2"},
    )
    assert response.status_code == 405
    assert 'href="/taches/?page=2"' in response.content.decode()


def test_a_foreign_referer_is_not_a_way_back(client):
    wave, minister = factories.wave_of(0)
    client.force_login(minister)
    response = client.get(
        f"/vagues/{wave.pk}/annuler/", headers={"referer": "https://ailleurs.example/piege/"}
    )
    assert response.status_code == 405
    body = response.content.decode()
    assert "ailleurs.example" not in body
    assert f'href="/vagues/{wave.pk}/"' in body


def test_json_clients_get_json_405(client, contract):
    client.force_login(factories.ministry_agent())
    response = client.get(
        f"/contrats/{contract.reference}/decision/", headers={"accept": "application/json"}
    )
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "error" in response.json()

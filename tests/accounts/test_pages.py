import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Organisation, Role
from accounts.services import grant_role
from tests import factories

pytestmark = pytest.mark.django_db
PASSWORD = "mot-de-passe-de-test"


def test_login_page_is_dsfr_and_french(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr"' in html
    assert "Territoires d'industrie" in html
    assert "Adresse électronique" in html
    assert "dsfr.min.css" in html


def test_login_by_email_lands_on_the_home_and_the_menu_lists_the_territories(client):
    user = factories.epci_agent("200000172")
    response = client.post(reverse("login"), {"username": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home") == "/"
    home = client.get(response["Location"]).content.decode()
    assert "<h1>Accueil</h1>" in home and "Mes brouillons" in home
    assert f'href="{reverse("territory-list")}"' in home
    html = client.get(reverse("territory-list")).content.decode()
    assert "Vallée de l&#x27;Arve" in html
    assert "Caen Industrie" not in html


def test_wrong_password_is_refused_in_french(client):
    user = factories.epci_agent("200000172")
    response = client.post(reverse("login"), {"username": user.email, "password": "faux"})
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_errors_are_in_french_spacing_and_linked_to_their_field(client):
    from tests.cases.page import Page, describing, error_of

    refused = client.post(reverse("login"), {"username": "agent@example.fr", "password": "faux"})
    assert "Vérifiez votre saisie\u202f; le mot de passe" in refused.content.decode()
    page = Page(client.post(reverse("login"), {"username": "", "password": ""}).content.decode())
    assert "obligatoire" in error_of(page, "id_username")
    email = page.by_id("id_username")
    assert email.attrs["aria-invalid"] == "true"
    assert [e.attrs["id"] for e in describing(page, email)] == ["id_username-desc-error"]
    assert email.attrs["autocomplete"] == "email" and email.attrs["type"] == "email"


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("territory-detail", args=["8414"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_territory_page_shows_its_epci_with_siren_population_and_coverage(client):
    client.force_login(factories.region_reviewer("84"))
    response = client.get(reverse("territory-detail", args=["8414"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Auvergne-Rhône-Alpes" in html
    assert "200000172" in html and "CC Faucigny-Glières" in html
    assert "27\xa0970" in html  # population 2020, French thousands separator
    assert "Complète" in html


def test_partial_coverage_is_shown(client):
    client.force_login(factories.region_reviewer("28"))
    html = client.get(reverse("territory-detail", args=["2802"])).content.decode()
    assert "Partielle" in html


@pytest.mark.parametrize("code", ["2802", "9999"])
def test_out_of_scope_or_unknown_territory_is_404(client, code):
    client.force_login(factories.epci_agent("200000172"))
    assert client.get(reverse("territory-detail", args=[code])).status_code == 404


def test_logout_requires_post_and_ends_the_session(client):
    client.force_login(factories.ministry_agent())
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_role_must_fit_the_organisation_kind():
    user = factories.UserFactory()
    region = factories.region_organisation("84")
    with pytest.raises(ValidationError, match="ne convient pas"):
        grant_role(user=user, organisation=region, role=Role.EPCI_AGENT)
    assert not user.memberships.exists()


def test_organisation_reference_must_match_kind():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(kind=Organisation.Kind.EPCI, name="EPCI sans référence")

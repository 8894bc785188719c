"""The main menu: « Accueil », « Territoires », and « Tableau de bord » for the roles that
read the dashboard, once the dashboard exists (it is built in its own app)."""

from types import ModuleType

import pytest
from django.http import HttpResponse
from django.urls import path, reverse

from config.urls import urlpatterns as site_urls
from tests import factories
from tests.cases.page import Page

pytestmark = pytest.mark.django_db


def dashboard_stand_in(request):
    return HttpResponse("tableau de bord")


# A stand-in at the dashboard's address shows the menu's link whether or not it is built.
urlpatterns = [*site_urls, path("tableau-de-bord/", dashboard_stand_in, name="dashboard")]


def menu_of(client, user) -> dict[str, dict]:
    client.force_login(user)
    page = Page(client.get(reverse("territory-list")).content.decode())
    return {a.text.strip(): a.attrs for a in page.by_id("fr-navigation").find_all("a")}


@pytest.mark.urls("tests.programme.test_home_menu")
@pytest.mark.parametrize(
    ("make_user", "shown"),
    [
        (factories.ministry_agent, True),
        (factories.steering_member, True),
        (lambda: factories.region_reviewer("84"), True),
        (lambda: factories.epci_agent("200000172"), False),
        (factories.operator_agent, False),
    ],
)
def test_the_menu_offers_the_dashboard_to_the_roles_that_read_it(client, make_user, shown):
    menu = menu_of(client, make_user())
    assert ("Tableau de bord" in menu) is shown
    assert list(menu)[:1] == ["Accueil"] and "Territoires" in menu
    if shown:
        assert menu["Tableau de bord"]["href"] == "/tableau-de-bord/"
        assert "aria-current" not in menu["Tableau de bord"]


def test_the_menu_has_no_dashboard_link_while_the_dashboard_does_not_exist(client, settings):
    without = [
        pattern
        for pattern in site_urls
        if getattr(pattern, "urlconf_name", None) != "programme.urls"
    ]
    urlconf = ModuleType("urls_without_dashboard")
    urlconf.urlpatterns = [*without, *_home_urls()]  # type: ignore[attr-defined]
    settings.ROOT_URLCONF = urlconf
    menu = menu_of(client, factories.ministry_agent())
    assert "Tableau de bord" not in menu
    assert list(menu)[:2] == ["Accueil", "Territoires"]


def _home_urls():
    from programme.home.urls import urlpatterns

    return urlpatterns

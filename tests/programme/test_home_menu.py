"""The main menu: « Accueil », « Territoires », and « Tableau de bord » for the roles that
read the dashboard."""

import pytest
from django.urls import reverse

from tests import factories
from tests.cases.page import Page

pytestmark = pytest.mark.django_db


def menu_of(client, user) -> dict[str, dict]:
    client.force_login(user)
    page = Page(client.get(reverse("territory-list")).content.decode())
    return {a.text.strip(): a.attrs for a in page.by_id("fr-navigation").find_all("a")}


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

"""The DSFR footer's mandatory links on every page, their pages readable without an account,
and skip links that only point at what the page has."""

import re

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

FOOTER_PAGES = {
    "/accessibilite/": (
        "Accessibilité&nbsp;: non conforme",
        [
            "non conforme",
            "Défenseur des droits",
            "Voies de recours",
            "Contenus non accessibles",
            "mailto:",
        ],
    ),
    "/mentions-legales/": (
        "Mentions légales",
        ["Éditeur", "Directeur de la publication", "Hébergement"],
    ),
    "/donnees-personnelles/": (
        "Données personnelles",
        ["Responsable du traitement", "Vos droits", "CNIL"],
    ),
}
INSTITUTIONS = ["info.gouv.fr", "service-public.fr", "legifrance.gouv.fr", "data.gouv.fr"]


def footer_of(html):
    return html[html.index('<footer class="fr-footer"') : html.index("</footer>")]


def pages(client):
    logged_out = client.get(reverse("login")).content.decode()
    client.force_login(factories.epci_agent("200000172"))
    home = client.get(reverse("home"))
    assert home.status_code == 200
    return {"login": logged_out, "home": home.content.decode()}


def test_footer_has_the_mandatory_links_on_home_and_login(client):
    for name, html in pages(client).items():
        footer = footer_of(html)
        for path, (label, _) in FOOTER_PAGES.items():
            assert f'class="fr-footer__bottom-link" href="{path}">{label}</a>' in footer, (
                name,
                path,
            )
        for site in INSTITUTIONS:
            link = re.search(
                rf'<a class="fr-footer__content-link"[^>]*href="https://www\.{re.escape(site)}"',
                footer,
            )
            assert link, (name, site)
            assert 'target="_blank"' in link.group(0) and 'rel="noopener"' in link.group(0)
            assert f'title="{site} - nouvelle fenêtre"' in link.group(0)


@pytest.mark.parametrize("path", FOOTER_PAGES)
def test_footer_pages_are_french_and_public(client, path):
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr"' in html
    for words in FOOTER_PAGES[path][1]:
        assert words in html, words
    assert footer_of(html)


def test_skip_links_point_only_at_what_the_page_has(client):
    for name, html in pages(client).items():
        skiplinks = html[html.index('class="fr-skiplinks"') : html.index("</nav>")]
        targets = re.findall(r'href="#([^"]+)"', skiplinks)
        assert "content" in targets and "footer" in targets
        for target in targets:
            assert f'id="{target}"' in html, (name, target)
        assert ("fr-navigation" in targets) is (name == "home")

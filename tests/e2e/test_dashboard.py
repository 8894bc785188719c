"""The dashboard in a real Chromium: the State's chart web components upgrade and draw, and
axe-core finds no violation, on a wide screen and on a phone."""

import pytest

from tests import factories
from tests.e2e.conftest import logged_in
from tests.e2e.test_accessibility import AXE, RUN_AXE, VIEWPORTS
from tests.programme.test_stats_world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
CHARTS = ["bar-chart", "pie-chart", "map-chart"]
DRAWN = """(tags) => tags.map(tag => {
  const elements = [...document.querySelectorAll(tag)];
  return {
    tag,
    defined: customElements.get(tag) !== undefined,
    count: elements.length,
    drawn: elements.filter(e => e.querySelector("canvas, svg")).length,
  };
})"""


def test_charts_render_and_axe_finds_nothing_on_the_dashboard(browser):
    chromium, url = browser
    world = build_world()
    for user, charts in (
        (world.actors.minister, CHARTS),
        # A Region's page has no map of France (see programme.dashboard.presentation).
        (factories.region_reviewer("84"), ["bar-chart", "pie-chart"]),
    ):
        page = logged_in(chromium, url, user)
        errors: list[str] = []
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        remote: list[str] = []
        page.on(
            "request",
            lambda request, remote=remote: (
                None
                if request.url.startswith(url) or request.url.startswith("data:")
                else remote.append(request.url)
            ),
        )
        for viewport in VIEWPORTS:
            page.set_viewport_size(viewport)
            response = page.goto(f"{url}/tableau-de-bord/")
            assert response is not None and response.status == 200
            page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
            page.wait_for_function(
                "(tags) => tags.every(tag => [...document.querySelectorAll(tag)]"
                ".every(e => e.querySelector('canvas, svg')))",
                arg=charts,
                timeout=30_000,
            )
            for chart in page.evaluate(DRAWN, charts):
                assert chart["defined"], chart
                assert chart["count"] >= 1 and chart["drawn"] == chart["count"], chart
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(RUN_AXE)
            assert violations == [], (viewport, violations)
        assert errors == []
        # Everything the page loaded came from this server: no CDN, no call home.
        assert remote == []
        page.context.close()

"""axe-core on every main page of every role, on a wide screen and on a phone: no violation.

One browser, one signed-in context per role; axe-core is vendored (tests/e2e/vendor/)."""

import re
from pathlib import Path

import pytest

from cases.contracts.models import Signature
from tests import factories
from tests.cases.contracts.test_amendment_rules import amendment_in_state
from tests.e2e.conftest import logged_in

pytestmark = pytest.mark.django_db(transaction=True)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 375, "height": 800}]
PUBLIC = ["/connexion/", "/accessibilite/", "/mentions-legales/", "/donnees-personnelles/"]
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


def world():
    """Cases in the states each role acts on, and one user per role."""
    agent = factories.epci_agent("200000172")
    draft = factories.contract_in_state("draft", author=agent)
    review = factories.contract_in_state("regional_review", author=agent)
    ministerial = factories.contract_in_state("ministerial_review", author=agent)
    request = factories.derogation_in_state("regional_review", author=agent)
    forwarded = factories.derogation_in_state("ministerial_review", author=agent)
    wave, minister = factories.wave_of(1)
    # Signatures and avenants: a contract awaiting its signatures, an avenant being reviewed.
    unsigned = factories.contract_in_state("contractualised")
    region_signature = Signature.objects.get(contract=unsigned, party="region")
    amendment = amendment_in_state("ministerial_review")
    amended, avenant = amendment.parent.reference, f"/avenants/{amendment.reference}/"
    signing_pages = [
        f"/contrats/{unsigned.reference}/",
        f"/contrats/{unsigned.reference}/signatures/{region_signature.pk}/",
        f"/contrats/{amended}/",
        f"/contrats/{amended}/versions/1/",
        avenant,
    ]
    contract, derogation, wave_page = "/contrats/{}/", "/derogations/{}/", f"/vagues/{wave.pk}/"
    common = [
        "/",
        "/contrats/",
        "/derogations/",
        "/appels/",
        f"/appels/{request.call_id}/",
        "/vagues/",
        "/fiches-actions/",
        "/taches/",
        "/notifications/",
        "/territoires/8414/",
        "/territoires/",
        "/territoires/?q=evry",
        "/tableau-de-bord/",
        *PUBLIC[1:],
    ]
    return {
        "agent EPCI": (
            agent,
            [
                *common,
                contract.format(draft.reference),
                derogation.format(request.reference),
                avenant,
            ],
        ),
        "instructeur Région": (
            factories.region_reviewer("84"),
            [
                *common,
                contract.format(review.reference),
                derogation.format(request.reference),
                *signing_pages,
            ],
        ),
        "agent du ministère": (
            minister,
            [
                *common,
                contract.format(ministerial.reference),
                derogation.format(forwarded.reference),
                wave_page,
                *signing_pages,
            ],
        ),
        "agent d'opérateur": (factories.operator_agent(), [*common, wave_page]),
        "membre du comité de pilotage": (factories.steering_member(), [*common, wave_page]),
    }


def first_task(page, url):
    page.goto(f"{url}/taches/")
    link = page.locator("a[href^='/taches/']").filter(has_text=re.compile(".")).all()
    hrefs = [a.get_attribute("href") for a in link]
    return [h for h in hrefs if re.fullmatch(r"/taches/\d+/", h or "")][:1]


# Two frames after a resize, the layout (and the DSFR scripts listening to it) has followed.
RESIZED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def violations_on(page, url, path, seen):
    """The page loaded on a phone, then widened: its media queries and DSFR's scripts follow
    the resize. Loading it again at each width cost a third of the test's time."""
    phone, *wider = VIEWPORTS[::-1]
    page.set_viewport_size(phone)
    response = page.goto(f"{url}{path}")
    if response is None or response.status != 200:
        return []
    seen.add(path)
    page.wait_for_function("document.documentElement.hasAttribute('data-fr-js')")
    page.add_script_tag(path=str(AXE))
    found = []
    for viewport in [phone, *wider]:
        if viewport is not phone:
            page.set_viewport_size(viewport)
            page.evaluate(RESIZED)
        for violation in page.evaluate(RUN_AXE):
            found.append(
                f"{path} à {viewport['width']} px : {violation['id']} ({violation['impact']}) "
                f"— {violation['help']} — {', '.join(violation['targets'][:6])}"
            )
    return found


def test_no_axe_violation_on_any_main_page_of_any_role(browser):
    chromium, url = browser
    seen: set[str] = set()
    found = []
    anonymous = chromium.new_context().new_page()
    for path in PUBLIC:
        found += violations_on(anonymous, url, path, seen)
    for role, (user, paths) in world().items():
        page = logged_in(chromium, url, user)
        for path in [*paths, *first_task(page, url)]:
            found += [f"[{role}] {line}" for line in violations_on(page, url, path, seen)]
        page.context.close()
    # Every kind of page was reached (a 403 or 404 is not checked, so would hide a page).
    kinds = {re.sub(r"/[A-Z0-9-]*\d+/", "/<id>/", path) for path in seen}
    assert kinds >= {
        "/contrats/<id>/",
        "/derogations/<id>/",
        "/appels/<id>/",
        "/vagues/<id>/",
        "/taches/<id>/",
        "/territoires/<id>/",
        "/territoires/",
        "/notifications/",
        "/",
        "/connexion/",
    }, sorted(kinds)
    assert not found, "\n".join(["Violations axe-core :", *found])

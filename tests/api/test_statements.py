"""SQL statements per API request (bench.api measured them): constant in the page's length,
and a transition costs the service's own plus a fixed few for the request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.kernel import services
from tests import factories
from tests.api.test_writes import auth, etag, post

pytestmark = pytest.mark.django_db


def statements(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def answered(call):
    def checked():
        answer = call()
        assert answer.status_code == 200, answer.content

    return checked


def test_a_page_of_contracts_costs_the_same_whatever_its_length(client):
    reviewer = factories.region_reviewer("84")
    headers = auth(reviewer)
    factories.contract_in_state("regional_review")
    client.get("/api/v1/notifications/", **headers)  # a token's first use is noted, once
    page = answered(lambda: client.get("/api/v1/contracts/", **headers))
    short = statements(page)
    for _ in range(5):
        factories.contract_in_state("regional_review")
    long = statements(page)
    assert short == long, (short, long)
    # The statement timeout set and reset, the token, the filter form's choices, the page.
    assert long <= 6, long


def test_a_transition_through_the_api_adds_a_fixed_few_to_the_service(client):
    reviewer = factories.region_reviewer("84")
    headers = auth(reviewer)
    by_service = factories.contract_in_state("regional_review")
    by_api = factories.contract_in_state("regional_review")
    client.get("/api/v1/notifications/", **headers)  # a token's first use is noted, once
    service = statements(lambda: services.case_approve(case=by_service, actor=reviewer))
    path = f"/api/v1/cases/{by_api.reference}/transitions/"
    headers["HTTP_IF_MATCH"] = etag(by_api)
    api = statements(answered(lambda: post(client, path, {"name": "approve"}, headers)))
    # The statement timeout set and reset, the token, the case in the user's scope, its
    # contract; the version check is the service's own.
    assert api - service <= 5, (api, service)


def test_signatures_and_versions_cost_the_same_whatever_their_number(client):
    """Each row's avenant is read with it, not one by one."""
    from tests.cases.contracts.test_amendment_rules import amendment_in_state

    first = factories.signed_contract()
    amended = amendment_in_state("signed").parent
    headers = auth(factories.ministry_agent())
    client.get("/api/v1/notifications/", **headers)  # a token's first use is noted, once
    for path in ("signatures/", "versions/"):
        urls = [f"/api/v1/contracts/{c.reference}/{path}" for c in (first, amended)]
        counts = [statements(answered(lambda url=url: client.get(url, **headers))) for url in urls]
        assert counts[0] == counts[1], (path, counts)
        # The statement timeout set and reset, the token, the contract in scope, the rows.
        assert counts[1] <= 6, (path, counts)


def test_a_page_of_avenants_costs_the_same_whatever_its_length(client):
    from tests.cases.contracts.test_amendment_rules import amendment_in_state

    headers = auth(factories.ministry_agent())
    amendment_in_state("ministerial_review")
    client.get("/api/v1/notifications/", **headers)  # a token's first use is noted, once
    page = answered(lambda: client.get("/api/v1/amendments/", **headers))
    short = statements(page)
    for _ in range(2):
        amendment_in_state("ministerial_review")
    long = statements(page)
    assert short == long, (short, long)
    assert long <= 6, long

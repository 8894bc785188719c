"""A case page reads the user's memberships once (accounts.actors), whatever the number of
roles they hold and of transitions the page offers: its statements stay few and constant."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role
from tests import factories

pytestmark = pytest.mark.django_db
# Middleware's lock and statement bounds (2), session, user, the case, the memberships, the
# fiches-actions and their lines, the unread count, the clock with its receipt, the task,
# documents, comments and history.
MOST = 15
STATES = ["draft", "regional_review", "ministerial_review", "signed_off", "rejected"]


def on_memberships(statements: list[str]) -> list[str]:
    """The statements that read memberships themselves (not a scope's subquery on them)."""
    return [
        sql
        for sql in statements
        if sql.startswith(
            ('SELECT "accounts_membership".', 'SELECT 1 AS "a" FROM "accounts_membership"')
        )
    ]


def statements_of(client, user, path: str) -> list[str]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def with_every_role(user):
    """The same user, also a member of the Region, the ministry and an operator."""
    extra = [
        (Role.REGION_REVIEWER, factories.region_organisation("84")),
        (Role.MINISTRY_AGENT, factories.ministry_agent().memberships.get().organisation),
        (Role.OPERATOR_AGENT, factories.operator_agent().memberships.get().organisation),
    ]
    for role, organisation in extra:
        Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


@pytest.mark.parametrize("state", STATES)
def test_a_contract_page_reads_memberships_once_for_every_role(client, reference_data, state):
    agent = factories.epci_agent("200000172")
    contract = factories.contract_in_state(state, author=agent)
    path = f"/contrats/{contract.reference}/"
    counts = {}
    for name, user in {
        "epci": agent,
        "region": factories.region_reviewer("84"),
        "ministry": factories.ministry_agent(),
        "steering": factories.steering_member(),
        "all roles": with_every_role(factories.epci_agent("200000172")),
    }.items():
        statements = statements_of(client, user, path)
        memberships = on_memberships(statements)
        assert len(memberships) == 1, (name, memberships)
        counts[name] = len(statements)
    assert max(counts.values()) <= MOST, counts
    # Holding every role costs nothing more than holding one.
    assert counts["all roles"] == counts["epci"], counts


def test_a_derogation_page_reads_memberships_once(client, reference_data):
    request = factories.derogation_in_state("ministerial_review")
    path = f"/derogations/{request.reference}/"
    for user in [factories.region_reviewer("84"), factories.ministry_agent()]:
        statements = statements_of(client, user, path)
        memberships = on_memberships(statements)
        assert len(memberships) == 1, memberships

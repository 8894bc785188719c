"""The queries compiled once per process (cases.kernel.compiled: the lists' filter choices, the
header's figures) answer, for a user of every role, exactly what their querysets answer."""

import pytest
from django.test import RequestFactory

from accounts.models import Membership, Role, User
from accounts.scoping import territories_for_user
from cases.kernel import lists, views
from cases.kernel.compiled import STAND_IN_ID
from cases.waves import lists as wave_lists
from cases.waves.selectors import waves_for_user
from config import context_processors
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(reference_data) -> dict[str, User]:
    author = factories.epci_agent("200000172")
    reviewer = factories.region_reviewer("84")
    people = {
        "EPCI": author,
        "Region": reviewer,
        "other Region": factories.region_reviewer("28"),
        "ministry": factories.ministry_agent(),
        "steering": factories.steering_member(),
        "operator": factories.operator_agent("Bpifrance"),
        "no role": User.objects.create_user("personne@example.invalid"),
    }
    # An EPCI agent who is also an operator's agent: both scopes at once.
    both = factories.epci_agent("200000172")
    operator = Membership.objects.get(user=people["operator"]).organisation
    Membership.objects.create(user=both, organisation=operator, role=Role.OPERATOR_AGENT)
    people["EPCI and operator"] = both
    # Contracts in review (the Region's reviewers are told: unread notifications), in draft
    # elsewhere, and a wave of signed-off contracts of the same Region.
    factories.contract_in_state("regional_review", author=author)
    factories.contract_in_state("draft", territory_code="2802")
    factories.wave_of(2)
    return people


def orm_header(user) -> tuple:
    return tuple(context_processors.header_figures(user)[0])


def test_compiled_rows_are_the_querysets_rows_for_every_role(people):
    seen = {"territories": 0, "creatable": 0, "waves": 0, "unread": 0}
    for who, user in people.items():
        territories = list(lists.territory_rows(territories_for_user(user)))
        assert views.SCOPE.rows(user) == territories, who
        creatable = list(
            lists.territory_rows(territories_for_user(user), views.creatable_territories(user))
        )
        assert views.CREATABLE_SCOPE.rows(user) == creatable, who
        waves = list(waves_for_user(user).order_by("-date", "-pk").values_list("pk", "name"))
        assert wave_lists.wave_choices(user) == waves, who
        request = RequestFactory().get("/")
        request.user = user
        figures = context_processors.notifications(request)
        unread, last, dashboard = orm_header(user)
        assert figures == {
            "unread_notifications": unread,
            "last_notification_seq": last,
            "menu_dashboard": dashboard,
        }, who
        seen["territories"] += bool(territories)
        seen["creatable"] += any(row[4] for row in creatable)
        seen["waves"] += bool(waves)
        seen["unread"] += bool(unread)
    # Every kind of answer was compared non-empty at least once, and empty for someone.
    assert 0 < seen["territories"] < len(people), seen
    assert 0 < seen["creatable"] < len(people), seen
    assert 0 < seen["waves"] < len(people), seen
    assert seen["unread"] > 0, seen


def test_the_users_id_is_a_parameter_of_the_compiled_sql(people):
    for query in (views.SCOPE, views.CREATABLE_SCOPE, wave_lists.WAVES):
        sql, params, positions = query.compiled()
        assert positions, query
        assert str(STAND_IN_ID) not in sql
        assert all(params[position] == STAND_IN_ID for position in positions)


def test_an_inactive_user_gets_no_choices(people):
    user = people["ministry"]
    user.is_active = False
    assert views.SCOPE.rows(user) == []
    assert wave_lists.wave_choices(user) == []

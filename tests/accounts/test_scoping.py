"""Who works on which territory: a table of users × territories for each role."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Membership, Role
from accounts.scoping import can_see_territory, territories_for_user
from territories.models import Territory
from tests import factories

pytestmark = pytest.mark.django_db

ARVE = "8414"  # Vallée de l'Arve, piloted by Auvergne-Rhône-Alpes (84)
CAEN = "2802"  # Caen Industrie, piloted by Normandie (28)
BRESLE = "3213"  # Vallée de la Bresle - Vimeu, piloted by Hauts-de-France, EPCI partly in Normandie
ROISSY = "1105"  # Grand Roissy, one of three territories sharing the Métropole du Grand Paris
ORLY = "1104"
BOUCLE_NORD = "1101"
ANNECY = "8404"  # another territory of Auvergne-Rhône-Alpes
SAMPLE = (ARVE, CAEN, BRESLE, ROISSY, ORLY, BOUCLE_NORD, ANNECY)


def make_user(kind: str):
    builders = {
        "epci_arve": lambda: factories.epci_agent("200000172"),  # CC Faucigny-Glières
        "epci_caen": lambda: factories.epci_agent("200065597"),  # CU Caen la Mer
        "epci_villes_soeurs": lambda: factories.epci_agent("247600588"),  # in Bresle, Normandie
        "epci_grand_paris": lambda: factories.epci_agent("200054781"),  # in three territories
        "region_ara": lambda: factories.region_reviewer("84"),
        "region_normandie": lambda: factories.region_reviewer("28"),
        "ministry": factories.ministry_agent,
        "steering": factories.steering_member,
        "operator": factories.operator_agent,
        "no_membership": factories.UserFactory,
    }
    return builders[kind]()


# (user kind, territories of SAMPLE they see); every other SAMPLE territory must be hidden.
TABLE = [
    ("epci_arve", {ARVE}),
    ("epci_caen", {CAEN}),
    ("epci_villes_soeurs", {BRESLE}),
    ("epci_grand_paris", {ROISSY, ORLY, BOUCLE_NORD}),
    ("region_ara", {ARVE, ANNECY}),
    ("region_normandie", {CAEN}),
    ("ministry", set(SAMPLE)),
    ("steering", set(SAMPLE)),
    ("operator", set()),
    ("no_membership", set()),
]


@pytest.mark.parametrize(("kind", "visible"), TABLE, ids=[row[0] for row in TABLE])
@pytest.mark.parametrize("code", SAMPLE)
def test_scope_table(kind, visible, code):
    user = make_user(kind)
    territory = Territory.objects.get(code=code)
    assert can_see_territory(user, territory) is (code in visible)


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("epci_arve", 1),
        ("epci_grand_paris", 3),
        ("region_ara", 17),
        ("region_normandie", 8),
        ("ministry", 148),
        ("steering", 148),
        ("operator", 0),
    ],
)
def test_scope_sizes(kind, count):
    user = make_user(kind)
    territories = territories_for_user(user)
    assert territories.count() == count
    assert len(set(territories.values_list("pk", flat=True))) == count  # no duplicate rows


def test_region_reviewer_sees_exactly_the_piloted_territories():
    user = make_user("region_ara")
    expected = set(Territory.objects.filter(pilot_region__code="84").values_list("code", flat=True))
    assert set(territories_for_user(user).values_list("code", flat=True)) == expected


def test_roles_add_up_across_memberships():
    user = make_user("epci_caen")
    Membership.objects.create(
        user=user, organisation=factories.region_organisation("84"), role=Role.REGION_REVIEWER
    )
    assert territories_for_user(user).count() == 17 + 1


def test_role_in_the_wrong_kind_of_organisation_grants_nothing():
    # A Region organisation membership recorded with the EPCI-agent role must not leak scope.
    user = factories.UserFactory()
    Membership.objects.create(
        user=user, organisation=factories.region_organisation("84"), role=Role.EPCI_AGENT
    )
    assert territories_for_user(user).count() == 0


def test_inactive_and_anonymous_users_see_nothing():
    user = make_user("ministry")
    user.is_active = False
    user.save()
    assert territories_for_user(user).count() == 0
    assert territories_for_user(AnonymousUser()).count() == 0


def test_two_real_epci_with_the_same_name_both_get_an_organisation():
    first = factories.epci_organisation("247000623")
    second = factories.epci_organisation("247400666")
    assert first.name == second.name == "CC des Quatre Rivières"
    assert first.pk != second.pk


def test_national_organisations_keep_unique_names():
    from django.db import IntegrityError, transaction

    from accounts.models import Organisation

    factories.national_organisation(Organisation.Kind.OPERATOR, "Bpifrance")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(kind=Organisation.Kind.OPERATOR, name="Bpifrance")

"""Which territories a user works on: the one place that decides it.

- an EPCI agent: the territories that contain their EPCI;
- a Region reviewer: the territories their Region pilots;
- a ministry agent or a steering committee member: every territory;
- an operator agent: no territory as such; they read only the cases they are asked
  about, which the case selectors grant case by case.
"""

from django.db.models import Exists, Q, QuerySet

from accounts.actors import actor_of
from accounts.models import Membership, Role
from territories.models import Territory, TerritoryIntercommunality

NATIONAL_ROLES = (Role.MINISTRY_AGENT, Role.STEERING_MEMBER)


def members(**filters) -> Q:
    """A condition on users: holding a membership that matches ``filters``."""
    return Q(memberships__in=Membership.objects.filter(**filters))


def region_reviewers_of(territory_id: int, **filters) -> Q:
    """The reviewers of the Region that pilots the territory (``filters``: more conditions
    on their membership, e.g. ``lead=True``)."""
    return members(
        role=Role.REGION_REVIEWER,
        organisation__region__piloted_territories__id=territory_id,
        **filters,
    )


def roles_of(user) -> set[str]:
    # The standing the permissions read: within a request, no query of its own.
    return set(actor_of(user).roles)


def epci_territories(user) -> QuerySet[Territory]:
    """The territories that contain an EPCI the user is an agent of."""
    links = TerritoryIntercommunality.objects.filter(
        intercommunality__organisation__memberships__user=user,
        intercommunality__organisation__memberships__role=Role.EPCI_AGENT,
    ).values("territory_id")
    return Territory.objects.filter(pk__in=links)


def piloted_territories(user) -> QuerySet[Territory]:
    """The territories piloted by a Region the user reviews for."""
    piloted = Territory.objects.filter(
        pilot_region__organisation__memberships__user=user,
        pilot_region__organisation__memberships__role=Role.REGION_REVIEWER,
    ).values("pk")
    # The join through memberships can repeat a territory; filtering by pk keeps one row each.
    return Territory.objects.filter(pk__in=piloted)


def territories_for_user(user) -> QuerySet[Territory]:
    """Lazy: the national check is a condition of the query (evaluated once by the database),
    not a query of its own, so that a page may scope several lists without paying for it
    each time."""
    if not user.is_authenticated or not user.is_active:
        return Territory.objects.none()
    national = Membership.objects.filter(user=user, role__in=NATIONAL_ROLES)
    return Territory.objects.filter(
        Q(Exists(national))
        | Q(pk__in=epci_territories(user).values("pk"))
        | Q(pk__in=piloted_territories(user).values("pk"))
    )


def can_see_territory(user, territory: Territory) -> bool:
    return territories_for_user(user).filter(pk=territory.pk).exists()

"""``{% load roles %}``: what the menu needs to know of the user's roles, read once a request."""

from django import template

from accounts.models import Role
from accounts.scoping import roles_of

register = template.Library()
CACHE = "_menu_roles"
DASHBOARD_ROLES = {Role.MINISTRY_AGENT, Role.STEERING_MEMBER, Role.REGION_REVIEWER}


def remember_roles(request, roles: set[str]) -> None:
    """A view that has read the roles already spares the menu its own query."""
    setattr(request, CACHE, set(roles))


def menu_roles(request, user) -> set[str]:
    roles = getattr(request, CACHE, None) if request is not None else None
    if roles is None:
        roles = roles_of(user)
        if request is not None:
            remember_roles(request, roles)
    return roles


@register.simple_tag(takes_context=True)
def sees_dashboard(context) -> bool:
    """The dashboard is for the national roles and the Regions (others get a 404 there)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return False
    return bool(menu_roles(context.get("request"), user) & DASHBOARD_ROLES)

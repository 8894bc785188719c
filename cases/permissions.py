"""Who may do what on a case. Each predicate answers for one user and one case.

These are questions, not gates: ``cases.services`` asks them explicitly before acting.
Roles are those of ``accounts``; scope follows ``accounts.scoping``.
"""

from accounts.models import Membership, Role

REVIEW_STATES = {"regional_review", "ministerial_review"}
CLOSED_STATES = {"rejected", "withdrawn", "contractualised", "decided"}


def _memberships(user):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Membership.objects.none()
    return Membership.objects.filter(user=user)


def is_epci_agent_for(user, case) -> bool:
    """An agent of an EPCI that belongs to the case's territory."""
    return (
        _memberships(user)
        .filter(
            role=Role.EPCI_AGENT,
            organisation__intercommunality__territory_links__territory_id=case.territory_id,
        )
        .exists()
    )


def is_region_reviewer_for(user, case) -> bool:
    """A reviewer of the Region that pilots the case's territory."""
    return (
        _memberships(user)
        .filter(
            role=Role.REGION_REVIEWER,
            organisation__region__piloted_territories__id=case.territory_id,
        )
        .exists()
    )


def is_ministry_agent(user) -> bool:
    return _memberships(user).filter(role=Role.MINISTRY_AGENT).exists()


def is_current_reviewer_for(user, case) -> bool:
    """The institution whose turn it is: the Region in regional review, the ministry after."""
    if case.state == "regional_review":
        return is_region_reviewer_for(user, case)
    if case.state == "ministerial_review":
        return is_ministry_agent(user)
    return False


def is_reviewing_institution(user, case) -> bool:
    """Region reviewers of the pilot Region and ministry agents: who may read private notes."""
    return is_ministry_agent(user) or is_region_reviewer_for(user, case)


def is_party(user, case) -> bool:
    return is_epci_agent_for(user, case) or is_reviewing_institution(user, case)


def can_edit(user, case) -> bool:
    return case.state == "draft" and is_epci_agent_for(user, case)


def can_comment(user, case, *, private: bool = False) -> bool:
    return is_reviewing_institution(user, case) if private else is_party(user, case)


def can_upload(user, case) -> bool:
    return case.state not in CLOSED_STATES and is_party(user, case)


def is_member_of(user, organisation_id: int) -> bool:
    return _memberships(user).filter(organisation_id=organisation_id).exists()


def is_consulted_on(user, case) -> bool:
    """A member of an organisation whose opinion the ministry asked on this case."""
    return _memberships(user).filter(organisation__opinions__case_id=case.pk).exists()

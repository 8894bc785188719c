"""Who is told of what (issue: real-time notifications). One place, one table.

The actor is never told of their own action.
"""

from django.db.models import Q

from accounts.models import Role, User
from accounts.scoping import members, region_reviewers_of
from cases.kernel.hooks import CaseAnnouncement
from cases.models import Case, Opinion

EPCI = "epci"
REGION = "region"
MINISTRY = "ministry"
CONSULTED = "consulted"
PARTIES = "parties"
REVIEWERS = "reviewers"
TERRITORY = "territory"
# Whom the service that wrote the event named (extra["recipients"]): deadlines' reminders.
NAMED = "named"
# A contract's signatories: its EPCI, its Region, the ministry, and the operators the service
# names (extra["operators"]: those with a line in the contract).
SIGNATORIES = "signatories"
# The territory's EPCI and Region, and the operators named in extra["operators"].
TERRITORY_SIGNERS = "territory_signers"

# Event name -> who is told.
WHO_IS_TOLD = {
    "submit": REGION,
    "approve": MINISTRY,
    "forward": MINISTRY,
    "request_changes": EPCI,
    "reject": EPCI,
    "sign_off": EPCI,
    "decide": EPCI,
    "opinion_request": CONSULTED,
    "opinion_answer": MINISTRY,
    "comment": PARTIES,
    "private_note": REVIEWERS,
    # The ministry validated the wave itself: the territory's parties are the ones to tell,
    # with the operators that sign the contract's version 1.
    "contractualise": TERRITORY_SIGNERS,
    # A funder answered a line: the EPCI that asked and the Region that reviews are told.
    "financing_commit": TERRITORY,
    "financing_decline": TERRITORY,
    # A due date near or past: deadlines decides who must act, or who is next in line.
    "reminder": NAMED,
    "escalation": NAMED,
    # Signatures and avenants: every signatory hears of them, those who must sign and the
    # others alike (an avenant that does not touch their commitments is still theirs to know).
    "signature": SIGNATORIES,
    # A draft avenant is the EPCI's own work: the operators hear of it once it is submitted.
    "amendment_open": PARTIES,
    "signature_request": SIGNATORIES,
    "new_version": SIGNATORIES,
}


def audience(case: Case, who: str, extra: dict) -> Q:
    epci = members(
        role=Role.EPCI_AGENT,
        organisation__intercommunality__territory_links__territory_id=case.territory_id,
    )
    region = region_reviewers_of(case.territory_id)
    ministry = members(role=Role.MINISTRY_AGENT)
    if who == EPCI:
        return epci
    if who == REGION:
        return region
    if who == MINISTRY:
        return ministry
    if who == REVIEWERS:
        return region | ministry
    if who == PARTIES:
        return epci | region | ministry
    if who == TERRITORY:
        return epci | region
    if who == NAMED:
        return Q(pk__in=extra.get("recipients", []))
    if who in (SIGNATORIES, TERRITORY_SIGNERS):
        operators = members(
            role=Role.OPERATOR_AGENT, organisation__operator__in=extra.get("operators", [])
        )
        parties = epci | region | operators
        return parties | ministry if who == SIGNATORIES else parties
    if who == CONSULTED:
        organisation = Opinion.objects.values_list("organisation_id", flat=True).get(
            pk=extra["opinion"]
        )
        return members(organisation_id=organisation)
    raise ValueError(who)


def recipients(announcement: CaseAnnouncement) -> list[int]:
    who = WHO_IS_TOLD.get(announcement.event.name)
    if who is None:
        return []
    users = User.objects.filter(
        audience(announcement.case, who, announcement.extra), is_active=True
    )
    actor_id = getattr(announcement.actor, "pk", None)
    if actor_id is not None:
        users = users.exclude(pk=actor_id)
    return list(users.values_list("pk", flat=True).distinct().order_by("pk"))


# The audiences that depend on the case through its territory (and the operators the service
# names) only: two announcements of the same event name, territory, actor and operators tell
# the same users.
_BY_TERRITORY = {EPCI, REGION, MINISTRY, REVIEWERS, PARTIES, TERRITORY, TERRITORY_SIGNERS}


def recipients_of_each(announcements: list[CaseAnnouncement]) -> list[list[int]]:
    """Each announcement's recipients, in order; those told alike are read once (a wave of 150
    contracts in 17 territories reads 17 audiences, not 150)."""
    read: dict[tuple, list[int]] = {}
    told = []
    for announcement in announcements:
        who = WHO_IS_TOLD.get(announcement.event.name)
        if who not in _BY_TERRITORY:
            told.append(recipients(announcement))
            continue
        actor_id = getattr(announcement.actor, "pk", None)
        operators = tuple(announcement.extra.get("operators", []))
        key = (who, announcement.case.territory_id, actor_id, operators)
        if key not in read:
            read[key] = recipients(announcement)
        told.append(read[key])
    return told

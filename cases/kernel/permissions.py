"""Who may do what on a case. Each predicate answers for one user and one case.

These are questions, not gates: ``cases.kernel.services`` asks them explicitly before acting.
Roles are those of ``accounts``; scope follows ``accounts.scoping``. Each predicate takes a
user or their ``accounts.actors.Actor``: the memberships are read once per web request,
whatever the number of questions a page asks.
"""

from typing import TYPE_CHECKING, Protocol

from accounts.actors import Actor, AnyUser, actor_of
from accounts.models import Operator, Role

if TYPE_CHECKING:
    # cases.kernel.models imports this module (its transitions' permissions).
    from cases.kernel.models import Case

REVIEW_STATES = {"regional_review", "ministerial_review"}
CLOSED_STATES = {"rejected", "withdrawn", "contractualised", "decided", "signed"}


class InTerritory(Protocol):
    """What the territorial predicates read of a case: also a case yet to be created."""

    @property
    def territory_id(self) -> int: ...


def is_epci_agent_for(user: AnyUser, case: InTerritory) -> bool:
    """An agent of an EPCI that belongs to the case's territory."""
    return case.territory_id in actor_of(user).epci_territories


def is_region_reviewer_for(user: AnyUser, case: InTerritory) -> bool:
    """A reviewer of the Region that pilots the case's territory."""
    return case.territory_id in actor_of(user).piloted_territories


def is_ministry_agent(user: AnyUser) -> bool:
    return actor_of(user).holds(Role.MINISTRY_AGENT)


def is_current_reviewer_for(user: AnyUser, case: "Case") -> bool:
    """The institution whose turn it is: the Region in regional review, the ministry after."""
    if case.state == "regional_review":
        return is_region_reviewer_for(user, case)
    if case.state == "ministerial_review":
        return is_ministry_agent(user)
    return False


def is_reviewing_institution(user: AnyUser, case: "Case") -> bool:
    """Region reviewers of the pilot Region and ministry agents: who may read private notes."""
    user = actor_of(user)  # read once for the questions below
    return is_ministry_agent(user) or is_region_reviewer_for(user, case)


def is_party(user: AnyUser, case: "Case") -> bool:
    user = actor_of(user)  # read once for the questions below
    return is_epci_agent_for(user, case) or is_reviewing_institution(user, case)


def can_edit(user: AnyUser, case: "Case") -> bool:
    return case.state == "draft" and is_epci_agent_for(user, case)


def can_comment(user: AnyUser, case: "Case", *, private: bool = False) -> bool:
    return is_reviewing_institution(user, case) if private else is_party(user, case)


def can_upload(user: AnyUser, case: "Case") -> bool:
    return case.state not in CLOSED_STATES and is_party(user, case)


def is_member_of(user: AnyUser, organisation_id: int) -> bool:
    return organisation_id in actor_of(user).organisations


def is_consulted_on(user: AnyUser, case: "Case") -> bool:
    """A member of an organisation whose opinion the ministry asked on this case."""
    actor: Actor = actor_of(user)
    key = ("consulted", case.pk)
    if key not in actor.memo:
        from cases.kernel.models import Opinion

        actor.memo[key] = (
            bool(actor.organisations)
            and (
                Opinion.objects.filter(case_id=case.pk, organisation_id__in=actor.organisations)
            ).exists()
        )
    return actor.memo[key]


# Financing lines: the EPCI requests, each funder answers its own lines.
#
# Who answers (commits, adjusts or declines) a line depends on its funder:
# - an operator's line (Banque des territoires, Bpifrance, Business France, France Travail):
#   only the agents of that operator, whose Organisation.operator is the line's funder; never
#   the EPCI, the Region or the ministry, who cannot promise an operator's money;
# - a Région line: the reviewers of the Region that pilots the territory;
# - an État line: the ministry's agents;
# - an EPCI line: the agents of an EPCI of the territory, whose own money it is;
# - an "other" line (a département, Europe, a company...): nobody through the product. Its
#   funder has no account here, and the EPCI writing "committed" for it would be the EPCI
#   vouching for someone else's money; such a line stays « Demandé », and what the funder
#   said goes in the fiche-action's description.
# The EPCI requests: it writes a line's funder and requested amount while drafting
# (``can_edit``); that is all the fiche-action form can do to a line.
#
# When: once the contract is submitted and until its wave contractualises it (regional
# review, ministerial review, signed off). Not in draft (before the first submission no
# funder sees it; sent back for changes, the EPCI is rewriting its lines), nor once rejected
# or withdrawn. Once contractualised, its version 1 is what its signatories sign: a funder's
# commitment changes then by an avenant, which that funder signs.
FINANCING_ANSWER_STATES = {
    "regional_review",
    "ministerial_review",
    "signed_off",
}
OPERATOR_CODES = set(Operator.values)


def is_operator_agent_of(user: AnyUser, operator: str) -> bool:
    """An agent of the operator whose code (a funder code) is ``operator``."""
    return operator in OPERATOR_CODES and operator in actor_of(user).operators


def is_financing_answerer(user: AnyUser, case: "Case", funder: str) -> bool:
    """Whether ``user`` speaks for ``funder`` on ``case`` (whatever the case's state)."""
    user = actor_of(user)  # read once for the questions below
    if funder in OPERATOR_CODES:
        return is_operator_agent_of(user, funder)
    if funder == "region":
        return is_region_reviewer_for(user, case)
    if funder == "state":
        return is_ministry_agent(user)
    if funder == "epci":
        return is_epci_agent_for(user, case)
    return False


def financing_answers_open(case: "Case") -> bool:
    return case.state in FINANCING_ANSWER_STATES


def can_answer_financing(user: AnyUser, case: "Case", funder: str) -> bool:
    """May commit, adjust or decline a line of ``funder`` on ``case`` now."""
    return financing_answers_open(case) and is_financing_answerer(user, case, funder)


def answerable_funders(user: AnyUser, case: "Case") -> set[str]:
    """The funder codes whose lines ``user`` may answer on ``case`` now."""
    if not financing_answers_open(case):
        return set()
    actor = actor_of(user)
    funders = set(actor.operators)
    if actor.holds(Role.MINISTRY_AGENT):
        funders.add("state")
    if is_region_reviewer_for(actor, case):
        funders.add("region")
    if is_epci_agent_for(actor, case):
        funders.add("epci")
    return funders & (OPERATOR_CODES | {"region", "state", "epci"})

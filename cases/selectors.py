"""Queries scoped to a user: every lookup from a request goes through here."""

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from accounts.models import Membership
from accounts.scoping import NATIONAL_ROLES, territories_for_user
from cases import permissions as perms
from cases.models import (
    ActionSheet,
    Axis,
    Case,
    CaseEvent,
    Comment,
    DerogationRequest,
    Document,
    FinancingLine,
    Funder,
    Opinion,
    TerritoryContract,
    Wave,
    WaveItem,
)


def _visible(user) -> Q:
    """A case's territory is in the user's scope, or the user's organisation was consulted."""
    consulted = Opinion.objects.filter(organisation__memberships__user=user).values("case_id")
    return Q(territory__in=territories_for_user(user)) | Q(pk__in=consulted)


def cases_for_user(user) -> QuerySet[Case]:
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    return Case.objects.filter(_visible(user))


def derogations_for_user(user) -> QuerySet[DerogationRequest]:
    if not user.is_authenticated or not user.is_active:
        return DerogationRequest.objects.none()
    return DerogationRequest.objects.filter(_visible(user)).select_related(
        "territory__pilot_region", "applicant", "call"
    )


def similar_requests(user, request: DerogationRequest) -> QuerySet[DerogationRequest]:
    """Other requests on the same legal reference, among those the user may see."""
    if not request.rule_reference_key:
        return DerogationRequest.objects.none()
    return (
        derogations_for_user(user)
        .filter(rule_reference_key=request.rule_reference_key)
        .exclude(pk=request.pk)
        .order_by("-updated_at")
    )


def opinions_for_user(user, case: Case) -> QuerySet[Opinion]:
    """Every opinion for the reviewing institutions; their own for the consulted."""
    opinions = case.opinions.select_related("organisation", "answered_by", "requested_by")
    if perms.is_reviewing_institution(user, case):
        return opinions
    return opinions.filter(organisation__memberships__user=user)


def contracts_for_user(user) -> QuerySet[TerritoryContract]:
    return TerritoryContract.objects.filter(
        territory__in=territories_for_user(user)
    ).select_related("territory__pilot_region")


def comments_for_user(user, case: Case) -> QuerySet[Comment]:
    comments = case.comments.select_related("author")
    if perms.is_reviewing_institution(user, case):
        return comments
    return comments.filter(private=False)


def events_for_user(user, case: Case) -> QuerySet[CaseEvent]:
    events = case.events.select_related("actor").order_by("seq")
    if perms.is_reviewing_institution(user, case):
        return events
    return events.filter(private=False)


def documents_for_user(user, case: Case) -> QuerySet[Document]:
    """Private documents (attached to an opinion) go to the reviewing institutions and to
    the organisation that wrote the opinion; the others, to every party."""
    documents = case.documents.select_related("uploaded_by")
    if perms.is_reviewing_institution(user, case):
        return documents
    own = Opinion.objects.filter(organisation__memberships__user=user).values("document_id")
    return documents.filter(Q(private=False) | Q(pk__in=own))


def document_for_user(user, pk: int) -> QuerySet[Document]:
    case = cases_for_user(user).filter(documents__pk=pk).first()
    if case is None:
        return Document.objects.none()
    return documents_for_user(user, case).filter(pk=pk)


def actions_of(contract: TerritoryContract) -> QuerySet[ActionSheet]:
    return contract.actions.prefetch_related("financings")


def contract_totals(contract: TerritoryContract) -> dict:
    """Costs per axis and financing per funder, as shown on the contract page."""
    zero = Decimal("0")
    by_axis = dict.fromkeys(Axis.values, zero)
    for axis_row in contract.actions.values("axis").annotate(total=Sum("total_cost")):
        by_axis[axis_row["axis"]] = axis_row["total"] or zero
    by_funder = {}
    lines = FinancingLine.objects.filter(action__contract=contract)
    for row in lines.values("funder").annotate(
        requested=Sum("amount", filter=Q(status="requested")),
        committed=Sum("amount", filter=Q(status="committed")),
    ):
        by_funder[row["funder"]] = {
            "requested": row["requested"] or zero,
            "committed": row["committed"] or zero,
        }
    funders = dict(Funder.choices)
    return {
        "by_axis": [(label, by_axis[value]) for value, label in Axis.choices],
        "total_cost": sum(by_axis.values(), zero),
        "by_funder": [
            (funders[value], amounts["requested"], amounts["committed"])
            for value, amounts in sorted(by_funder.items(), key=lambda item: funders[item[0]])
        ],
        "total_financing": sum((a["requested"] + a["committed"] for a in by_funder.values()), zero),
    }


def waves_for_user(user) -> QuerySet[Wave]:
    """National roles see every wave; the others, the waves holding a contract they see."""
    if not user.is_authenticated or not user.is_active:
        return Wave.objects.none()
    if Membership.objects.filter(user=user, role__in=NATIONAL_ROLES).exists():
        return Wave.objects.all()
    visible = contracts_for_user(user).values("pk")
    return Wave.objects.filter(
        pk__in=WaveItem.objects.filter(active=True, contract__in=visible).values("wave_id")
    )

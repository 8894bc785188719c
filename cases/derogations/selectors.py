"""What a user may read of derogation requests."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    QuerySet,
)

from accounts.models import User
from cases.derogations.models import DerogationRequest
from cases.kernel.selectors import visible_cases


def derogations_for_user(user: User | AnonymousUser) -> QuerySet[DerogationRequest]:
    if not user.is_authenticated or not user.is_active:
        return DerogationRequest.objects.none()
    return DerogationRequest.objects.filter(visible_cases(user)).select_related(
        "territory__pilot_region", "applicant", "call"
    )


def similar_requests(
    user: User | AnonymousUser, request: DerogationRequest
) -> QuerySet[DerogationRequest]:
    """Other requests on the same legal reference, among those the user may see."""
    if not request.rule_reference_key:
        return DerogationRequest.objects.none()
    return (
        derogations_for_user(user)
        .filter(rule_reference_key=request.rule_reference_key)
        .exclude(pk=request.pk)
        .order_by("-updated_at")
    )

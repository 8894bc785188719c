from django.db import transaction

from accounts.models import Membership, Organisation, User


@transaction.atomic
def grant_role(*, user: User, organisation: Organisation, role: str) -> Membership:
    """Give ``user`` a role in ``organisation``, refusing a role that does not fit its kind."""
    membership = Membership.objects.filter(user=user, organisation=organisation, role=role).first()
    if membership is not None:
        return membership
    membership = Membership(user=user, organisation=organisation, role=role)
    membership.full_clean()
    membership.save()
    return membership

SITE = {
    "site_title": "Territoires d'industrie",
    "site_tagline": "Contrats de territoire et demandes de dérogation",
    "header_brand_html": "République<br>Française",
    "footer_brand_html": "République<br>Française",
    "footer_description": (
        "Outil de suivi des contrats de territoire et des demandes de dérogation "
        "du programme Territoires d'industrie."
    ),
}


def site(request):
    # django-dsfr's own processor reads a DsfrConfig row on every request;
    # a constant is enough here and costs no query.
    return {"SITE_CONFIG": SITE}


def notifications(request):
    """The header's figures: the bell's, and whether the menu offers the dashboard."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Exists, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from accounts.models import Membership, Role
    from notifications.models import Notification

    # One query for the whole header (every page counts its queries), each subquery on its
    # own index: the partial index of unread rows, (recipient, seq), the memberships.
    mine = Notification.objects.filter(recipient=OuterRef("pk"))
    unread = (
        mine.filter(read_at__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last = mine.order_by("-seq").values("seq")[:1]
    # The menu's guess only: the dashboard decides for itself who may read it.
    reads_dashboard = Membership.objects.filter(
        user=OuterRef("pk"),
        role__in=[Role.MINISTRY_AGENT, Role.STEERING_MEMBER, Role.REGION_REVIEWER],
    )
    figures = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(
            unread=Coalesce(Subquery(unread), Value(0)),
            last=Coalesce(Subquery(last), Value(0)),
            dashboard=Exists(reads_dashboard),
        )
        .get()
    )
    return {
        "unread_notifications": figures["unread"],
        "last_notification_seq": figures["last"],
        "menu_dashboard": figures["dashboard"],
    }

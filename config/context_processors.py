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


def header_figures(user):
    """The header's figures of ``user``, as one row: unread, last seq, reads the dashboard."""
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
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .order_by()
        .values_list(
            Coalesce(Subquery(unread), Value(0)),
            Coalesce(Subquery(last), Value(0)),
            Exists(reads_dashboard),
        )
    )


_HEADER = None


def notifications(request):
    """The header's figures: the bell's, and whether the menu offers the dashboard."""
    global _HEADER
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if _HEADER is None:
        from cases.kernel.compiled import UserQuery

        # Compiled once per process: building it cost more than running it, on every page.
        _HEADER = UserQuery(header_figures)
    rows = _HEADER.rows(user)
    if not rows:  # the account was deleted during the request
        return {}
    unread, last, dashboard = rows[0]
    return {
        "unread_notifications": unread,
        "last_notification_seq": last,
        "menu_dashboard": bool(dashboard),
    }

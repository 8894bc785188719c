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
    """The bell's figures, for the header: read once per page, lazily."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from notifications.models import Notification

    mine = Notification.objects.filter(recipient=user)
    return {
        "unread_notifications": mine.filter(read_at__isnull=True).count(),
        "last_notification_seq": mine.order_by("-seq").values_list("seq", flat=True).first() or 0,
    }

"""The notifications page: all or unread, open one (marks it read), mark all read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.kernel import pagination
from notifications.models import EmailPreference, Notification, NotificationSettings

PAGE_SIZE = 30
# A user's numbers are unique and grow: the newest first, down the (recipient, seq) index.
NEWEST_FIRST = pagination.Keyset((("seq", "int"),))


@login_required
def notification_list(request):
    unread_only = request.GET.get("filtre") == "non-lues"
    mine = Notification.objects.filter(recipient=request.user)
    if unread_only:
        mine = mine.filter(read_at__isnull=True)
    problems = []
    try:
        page = pagination.paginate(mine, NEWEST_FIRST, request.GET.get("cursor"), PAGE_SIZE)
    except pagination.InvalidCursor as error:
        problems.append(error.message)
        page = pagination.paginate(mine, NEWEST_FIRST, None, PAGE_SIZE)
    preference, _ = NotificationSettings.objects.get_or_create(user=request.user)
    return render(
        request,
        "notifications/list.html",
        {
            "title": "Notifications",
            "page": page,
            "caption": pagination.count_label(
                page.count,
                "notification non lue" if unread_only else "notification",
                "notifications non lues" if unread_only else "notifications",
                feminine=True,
            ),
            "query": pagination.page_query(request),
            "problems": problems,
            "unread_only": unread_only,
            "preference": preference,
            "choices": EmailPreference.choices,
        },
        status=400 if problems else 200,
    )


@login_required
def notification_open(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk).update(read_at=timezone.now())
    return redirect(notification.link)


@login_required
@require_POST
def notification_read_all(request):
    Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages.success(request, "Toutes vos notifications sont marquées comme lues.")
    return redirect("notification-list")


@login_required
@require_POST
def email_preference(request):
    choice = request.POST.get("email")
    if choice not in EmailPreference.values:
        messages.error(request, "Choix inconnu : rien n'a été modifié.")
        return redirect("notification-list")
    NotificationSettings.objects.update_or_create(user=request.user, defaults={"email": choice})
    messages.success(request, "Vos préférences de courriel sont enregistrées.")
    return redirect("notification-list")

"""The notifications page: all or unread, open one (marks it read), mark all read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from notifications.models import EmailPreference, Notification, NotificationSettings


@login_required
def notification_list(request):
    unread_only = request.GET.get("filtre") == "non-lues"
    mine = Notification.objects.filter(recipient=request.user).order_by("-pk")
    if unread_only:
        mine = mine.filter(read_at__isnull=True)
    preference, _ = NotificationSettings.objects.get_or_create(user=request.user)
    return render(
        request,
        "notifications/list.html",
        {
            "title": "Notifications",
            "page": Paginator(mine, 30).get_page(request.GET.get("page")),
            "unread_only": unread_only,
            "preference": preference,
            "choices": EmailPreference.choices,
        },
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

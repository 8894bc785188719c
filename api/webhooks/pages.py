"""The page where an organisation's référent manages its webhooks. Anyone else: 404."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from api.pages import signed_in
from api.webhooks import services
from api.webhooks.delivery import MAX_ATTEMPTS
from api.webhooks.forms import ReplayForm, SubscriptionForm
from api.webhooks.models import WebhookAttempt, WebhookSubscription
from cases.kernel.services import CaseActionError

LOG_LENGTH = 50
DELETE_DETAIL = (
    "Plus rien ne sera envoyé à cette adresse ; les messages en attente et le journal des "
    "envois sont supprimés avec l'abonnement."
)


def delete_question(subscription: WebhookSubscription) -> str:
    return f"Supprimer l'abonnement vers {subscription.url} ?"


def show_errors(form: forms.Form, refused: CaseActionError) -> None:
    for field, errors in refused.field_errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not refused.field_errors:
        form.add_error(None, refused.message)


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    organisations = list(services.organisations_led_by(user))
    if not organisations:
        raise Http404
    form = SubscriptionForm(request.POST or None, organisations=organisations)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created, secret = services.subscription_create(
                actor=user,
                organisation=next(o for o in organisations if o.pk == data["organisation"]),
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
            )
        except CaseActionError as refused:
            show_errors(form, refused)
        else:
            form = SubscriptionForm(organisations=organisations)
    status = 400 if request.method == "POST" and secret is None else 200
    context = {
        "title": "Webhooks de votre organisation",
        "form": form,
        "secret": secret,
        "created": created,
        "subscriptions": services.subscriptions_for_user(user),
    }
    return render(request, "api/webhooks.html", context, status=status)


def subscription_or_404(request: HttpRequest, pk: int) -> WebhookSubscription:
    return get_object_or_404(services.subscriptions_for_user(signed_in(request)), pk=pk)


def detail_context(subscription: WebhookSubscription, **extra: Any) -> dict:
    log = (
        subscription.messages.annotate(tries=Count("log"), last_try=Max("log__pk"))
        .select_related("event__case")
        .order_by("-pk")[:LOG_LENGTH]
    )
    rows = list(log)
    last = WebhookAttempt.objects.in_bulk([row.last_try for row in rows if row.last_try])
    return {
        "title": f"Webhook {subscription.url}",
        "subscription": subscription,
        "log": [(row, last.get(row.last_try)) for row in rows],
        "max_attempts": MAX_ATTEMPTS,
        "now": timezone.now(),
        "replay_form": extra.pop("replay_form", None) or ReplayForm(),
        "waiting": subscription.messages.filter(delivered_at__isnull=True).count(),
        "delete_question": delete_question(subscription),
        "delete_detail": DELETE_DETAIL,
        **extra,
    }


@login_required
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    return render(request, "api/webhook_detail.html", detail_context(subscription))


@login_required
@require_POST
def subscription_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    secret = services.secret_rotate(subscription=subscription, actor=signed_in(request))
    subscription.refresh_from_db()
    context = detail_context(subscription, secret=secret)
    return render(request, "api/webhook_detail.html", context)


@login_required
@require_POST
def subscription_replay(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    form = ReplayForm(request.POST)
    if form.is_valid():
        try:
            count = services.replay_from(
                subscription=subscription,
                actor=signed_in(request),
                message_id=form.cleaned_data["message_id"],
            )
        except CaseActionError as refused:
            show_errors(form, refused)
        else:
            if subscription.paused_at is not None:
                text = f"{count} message(s) seront envoyés de nouveau à la reprise des envois."
            else:
                text = f"{count} message(s) vont être envoyés de nouveau."
            messages.success(request, text)
            return redirect("webhook-detail", pk=subscription.pk)
    context = detail_context(subscription, replay_form=form)
    return render(request, "api/webhook_detail.html", context, status=400)


@login_required
@require_POST
def subscription_pause(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    if services.subscription_pause(subscription=subscription, actor=signed_in(request)):
        messages.success(
            request,
            "Les envois sont suspendus. Les nouveaux messages attendent dans la file "
            "et partiront dans l'ordre à la reprise.",
        )
    else:
        messages.info(request, "Les envois étaient déjà suspendus.")
    return redirect("webhook-detail", pk=subscription.pk)


@login_required
@require_POST
def subscription_resume(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    was_sending = subscription.sending
    count = services.subscription_resume(subscription=subscription, actor=signed_in(request))
    if was_sending:
        messages.info(request, "Les envois n'étaient pas suspendus.")
    else:
        messages.success(
            request, f"Les envois reprennent : {count} message(s) en attente partent dans l'ordre."
        )
    return redirect("webhook-detail", pk=subscription.pk)


@login_required
@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = subscription_or_404(request, pk)
    if request.POST.get("confirm") != "1":
        # Without JavaScript the modal does not open: the same question on a page.
        return render(
            request,
            "cases/confirm.html",
            {
                "title": delete_question(subscription),
                "detail": DELETE_DETAIL,
                "action": reverse("webhook-delete", args=[subscription.pk]),
                "hidden": {},
                "comment": None,
                "back": reverse("webhook-detail", args=[subscription.pk]),
            },
        )
    url = subscription.url
    services.subscription_delete(subscription=subscription, actor=signed_in(request))
    messages.success(request, f"L'abonnement vers {url} est supprimé, avec son journal.")
    return redirect("webhook-list")

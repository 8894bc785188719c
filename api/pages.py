"""The profile page where a user makes, sees and revokes their API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from api import tokens
from api.forms import TokenForm
from api.models import ApiToken
from api.webhooks.services import organisations_led_by
from cases.kernel.services import CaseActionError


def signed_in(request: HttpRequest) -> User:
    # Behind login_required: never the anonymous user.
    assert isinstance(request.user, User)
    return request.user


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    secret = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = tokens.token_create(
                actor=user,
                name=form.cleaned_data["name"],
                lifetime_days=form.cleaned_data["lifetime"],
                read_only=form.cleaned_data["read_only"],
            )
        except CaseActionError as refused:
            for field, errors in refused.field_errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            form = TokenForm()
    status = 400 if request.method == "POST" and secret is None else 200
    context = {
        "title": "Jetons d'accès à l'API",
        "form": form,
        "secret": secret,
        "tokens": ApiToken.objects.filter(user=user),
        "docs_url": reverse("api-docs"),
        # The webhooks' page is offered to the organisations' référents only.
        "webhooks": organisations_led_by(user).exists(),
    }
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Another user's token is a 404, as if it did not exist.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "cases/confirm.html",
            {
                "title": f"Révoquer le jeton « {token.name} » ?",
                "detail": "Les outils qui l'utilisent n'auront plus accès à l'API.",
                "action": reverse("token-revoke", args=[token.pk]),
                "hidden": {},
                "comment": None,
                "back": reverse("token-list"),
            },
        )
    tokens.token_revoke(token=token, actor=signed_in(request))
    messages.success(request, f"Le jeton « {token.name} » est révoqué.")
    return redirect("token-list")

"""The user's own space: logging in and out, and the page of a territory they work on.

The territory pages live here rather than in ``territories`` because what a user may see
is decided by their memberships (``accounts.scoping``), and ``territories`` depends on nothing.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from accounts.forms import LoginForm
from accounts.scoping import territories_for_user


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def territory_detail(request, code: str):
    # Out-of-scope territories are a 404, so that their existence is not confirmed.
    territory = get_object_or_404(
        territories_for_user(request.user).select_related("pilot_region"), code=code
    )
    links = territory.links.select_related("intercommunality__main_region").order_by(
        "intercommunality__name"
    )
    return render(
        request,
        "accounts/territory_detail.html",
        {
            "territory": territory,
            "links": links,
            "title": territory.name,
        },
    )


# The footer's mandatory pages: readable by anyone, signed in or not.
def _public_page(request, template: str, title: str):
    contact = settings.CONTACT_EMAIL
    return render(request, template, {"title": title, "contact_email": contact})


def accessibility(request):
    return _public_page(request, "pages/accessibilite.html", "Déclaration d'accessibilité")


def legal_notice(request):
    return _public_page(request, "pages/mentions_legales.html", "Mentions légales")


def personal_data(request):
    return _public_page(request, "pages/donnees_personnelles.html", "Données personnelles")

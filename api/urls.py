from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import SimpleRouter

from api import pages, views

router = SimpleRouter(trailing_slash=True)
router.register("contracts", views.ContractViewSet, basename="api-contract")

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(router.urls)),
    re_path(r"^api/v1/.*$", views.not_found, name="api-not-found"),
    path("profil/jetons/", pages.token_list, name="token-list"),
    path("profil/jetons/<int:pk>/revoquer/", pages.token_revoke, name="token-revoke"),
]

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import SimpleRouter

from api import actions, amendments, derogations, fiches, pages, reads, signatures, views

router = SimpleRouter(trailing_slash=True)
router.register("contracts", views.ContractViewSet, basename="api-contract")
router.register("derogations", derogations.DerogationViewSet, basename="api-derogation")
router.register("amendments", amendments.AmendmentViewSet, basename="api-amendment")
router.register("calls", reads.CallViewSet, basename="api-call")
router.register("waves", reads.WaveViewSet, basename="api-wave")

urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(router.urls)),
    path("profil/jetons/", pages.token_list, name="token-list"),
    path("profil/jetons/<int:pk>/revoquer/", pages.token_revoke, name="token-revoke"),
]

# A case's actions, whatever its kind (contract or derogation request).
urlpatterns += [
    path(
        "api/v1/cases/<str:reference>/transitions/",
        actions.CaseTransitions.as_view(),
        name="api-case-transitions",
    ),
    path(
        "api/v1/cases/<str:reference>/comments/",
        actions.CaseComments.as_view(),
        name="api-case-comments",
    ),
    path(
        "api/v1/cases/<str:reference>/events/",
        reads.CaseEvents.as_view(),
        name="api-case-events",
    ),
    path(
        "api/v1/cases/<str:reference>/documents/",
        fiches.CaseDocuments.as_view(),
        name="api-case-documents",
    ),
    path("api/v1/documents/<int:pk>/", reads.DocumentDetail.as_view(), name="api-document"),
    path(
        "api/v1/documents/<int:pk>/content/",
        reads.DocumentContent.as_view(),
        name="api-document-content",
    ),
    path(
        "api/v1/derogations/<str:reference>/opinions/",
        derogations.DerogationOpinions.as_view({"get": "list", "post": "create"}),
        name="api-derogation-opinions",
    ),
    path(
        "api/v1/derogations/<str:reference>/opinions/<int:pk>/answer/",
        derogations.DerogationOpinions.as_view({"post": "answer"}),
        name="api-opinion-answer",
    ),
    path(
        "api/v1/contracts/<str:reference>/actions/",
        fiches.ContractActions.as_view(),
        name="api-contract-actions",
    ),
    path(
        "api/v1/contracts/<str:reference>/actions/<int:pk>/",
        fiches.ContractAction.as_view(),
        name="api-contract-action",
    ),
    path(
        "api/v1/contracts/<str:reference>/lines/<int:pk>/commit/",
        fiches.LineCommitment.as_view(),
        name="api-line-commit",
    ),
    path(
        "api/v1/contracts/<str:reference>/lines/<int:pk>/decline/",
        fiches.LineDecline.as_view(),
        name="api-line-decline",
    ),
    path(
        "api/v1/contracts/<str:reference>/versions/",
        signatures.ContractVersions.as_view(),
        name="api-contract-versions",
    ),
    path(
        "api/v1/contracts/<str:reference>/versions/<int:number>/",
        signatures.ContractVersionDetail.as_view(),
        name="api-contract-version",
    ),
    path(
        "api/v1/contracts/<str:reference>/signatures/",
        signatures.ContractSignatures.as_view(),
        name="api-contract-signatures",
    ),
    path("api/v1/notifications/", reads.Notifications.as_view(), name="api-notifications"),
]

urlpatterns.append(path("", include("api.webhooks.urls")))

# Last: any other address under the API is a problem, not the site's HTML page. [\s\S]
# because a path may hold an encoded newline, which ``.`` does not match (and an inline
# (?s) flag is refused by the schema generator's reversal of the patterns).
urlpatterns.append(re_path(r"^api/v1/[\s\S]*$", views.not_found, name="api-not-found"))

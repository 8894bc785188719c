from django.urls import path

from cases import views

urlpatterns = [
    path("contrats/", views.contract_list, name="contract-list"),
    path("contrats/nouveau/", views.contract_create, name="contract-create"),
    path("contrats/<str:reference>/", views.contract_detail, name="contract-detail"),
    path("contrats/<str:reference>/modifier/", views.contract_edit, name="contract-edit"),
    path(
        "contrats/<str:reference>/decision/", views.contract_transition, name="contract-transition"
    ),
    path("contrats/<str:reference>/fiches/nouvelle/", views.action_edit, name="action-create"),
    path("contrats/<str:reference>/fiches/<int:action_id>/", views.action_edit, name="action-edit"),
    path(
        "contrats/<str:reference>/fiches/<int:action_id>/supprimer/",
        views.action_delete,
        name="action-delete",
    ),
    path("contrats/<str:reference>/commentaires/", views.comment_create, name="comment-create"),
    path("contrats/<str:reference>/documents/", views.document_upload, name="document-upload"),
    path("documents/<int:pk>/", views.document_download, name="document-download"),
]

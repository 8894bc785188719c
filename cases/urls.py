from django.urls import path

from cases.contracts import amendment_views as av
from cases.contracts import views as contract_views
from cases.derogations import views as dv
from cases.kernel import views
from cases.waves import views as wv

urlpatterns = [
    path("contrats/", contract_views.contract_list, name="contract-list"),
    path("contrats/nouveau/", contract_views.contract_create, name="contract-create"),
    path("contrats/<str:reference>/", contract_views.contract_detail, name="contract-detail"),
    path("contrats/<str:reference>/modifier/", contract_views.contract_edit, name="contract-edit"),
    path(
        "contrats/<str:reference>/decision/",
        contract_views.contract_transition,
        name="contract-transition",
    ),
    path(
        "contrats/<str:reference>/fiches/nouvelle/",
        contract_views.action_edit,
        name="action-create",
    ),
    path(
        "contrats/<str:reference>/fiches/<int:action_id>/",
        contract_views.action_edit,
        name="action-edit",
    ),
    path(
        "contrats/<str:reference>/fiches/<int:action_id>/supprimer/",
        contract_views.action_delete,
        name="action-delete",
    ),
    path(
        "contrats/<str:reference>/financements/<int:line_id>/",
        contract_views.financing_answer,
        name="financing-answer",
    ),
    path(
        "contrats/<str:reference>/versions/<int:number>/",
        av.contract_version,
        name="contract-version",
    ),
    path(
        "contrats/<str:reference>/signatures/<int:pk>/",
        av.signature_record,
        name="signature-record",
    ),
    path("contrats/<str:reference>/avenant/", av.amendment_open, name="amendment-open"),
    path("avenants/<str:reference>/", av.amendment_detail, name="amendment-detail"),
    path("avenants/<str:reference>/modifier/", av.amendment_edit, name="amendment-edit"),
    path(
        "avenants/<str:reference>/decision/", av.amendment_transition, name="amendment-transition"
    ),
    path(
        "avenants/<str:reference>/fiches/nouvelle/",
        av.amendment_action_edit,
        name="amendment-action-create",
    ),
    path(
        "avenants/<str:reference>/fiches/<str:key>/",
        av.amendment_action_edit,
        name="amendment-action-edit",
    ),
    path(
        "avenants/<str:reference>/fiches/<str:key>/retirer/",
        av.amendment_action_delete,
        name="amendment-action-delete",
    ),
    path(
        "avenants/<str:reference>/commentaires/",
        views.comment_create,
        name="amendment-comment-create",
    ),
    path(
        "avenants/<str:reference>/documents/",
        views.document_upload,
        name="amendment-document-upload",
    ),
    path("contrats/<str:reference>/commentaires/", views.comment_create, name="comment-create"),
    path("contrats/<str:reference>/documents/", views.document_upload, name="document-upload"),
    path("documents/<int:pk>/", views.document_download, name="document-download"),
    path("appels/", dv.call_list, name="call-list"),
    path("appels/<int:pk>/", dv.call_detail, name="call-detail"),
    path("derogations/", dv.derogation_list, name="derogation-list"),
    path("derogations/nouvelle/", dv.derogation_create, name="derogation-create"),
    path("derogations/<str:reference>/", dv.derogation_detail, name="derogation-detail"),
    path("derogations/<str:reference>/modifier/", dv.derogation_edit, name="derogation-edit"),
    path(
        "derogations/<str:reference>/decision/",
        dv.derogation_transition,
        name="derogation-transition",
    ),
    path("derogations/<str:reference>/avis-region/", dv.region_opinion, name="region-opinion"),
    path("derogations/<str:reference>/decider/", dv.derogation_decide, name="derogation-decide"),
    path("derogations/<str:reference>/avis/", dv.opinion_request, name="opinion-request"),
    path(
        "derogations/<str:reference>/commentaires/",
        views.comment_create,
        name="derogation-comment-create",
    ),
    path(
        "derogations/<str:reference>/documents/",
        views.document_upload,
        name="derogation-document-upload",
    ),
    path("avis/<int:pk>/", dv.opinion_answer, name="opinion-answer"),
    path("vagues/", wv.wave_list, name="wave-list"),
    path("vagues/nouvelle/", wv.wave_create, name="wave-create"),
    path("vagues/<int:pk>/", wv.wave_detail, name="wave-detail"),
    path("vagues/<int:pk>/ajouter/", wv.wave_add, name="wave-add"),
    path("vagues/<int:pk>/retirer/<int:contract_id>/", wv.wave_remove, name="wave-remove"),
    path("vagues/<int:pk>/annuler/", wv.wave_cancel, name="wave-cancel"),
    path("vagues/<int:pk>/valider/", wv.wave_validate, name="wave-validate"),
    path("vagues/<int:pk>/export.<str:fmt>", wv.wave_export, name="wave-export"),
    path("vagues/<int:pk>/document.pdf", wv.wave_document, name="wave-document"),
    path("fiches-actions/", contract_views.action_list, name="action-list"),
]

from django.urls import path

from api.webhooks import pages

urlpatterns = [
    path("profil/webhooks/", pages.subscription_list, name="webhook-list"),
    path("profil/webhooks/<int:pk>/", pages.subscription_detail, name="webhook-detail"),
    path("profil/webhooks/<int:pk>/secret/", pages.subscription_rotate, name="webhook-rotate"),
    path("profil/webhooks/<int:pk>/rejouer/", pages.subscription_replay, name="webhook-replay"),
    path("profil/webhooks/<int:pk>/suspendre/", pages.subscription_pause, name="webhook-pause"),
    path("profil/webhooks/<int:pk>/reprendre/", pages.subscription_resume, name="webhook-resume"),
    path("profil/webhooks/<int:pk>/supprimer/", pages.subscription_delete, name="webhook-delete"),
]

from django.urls import path

from notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notification-list"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
    path("notifications/tout-lire/", views.notification_read_all, name="notification-read-all"),
    path("notifications/courriels/", views.email_preference, name="notification-email"),
]

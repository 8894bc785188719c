from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Territoires d'industrie — administration"
admin.site.site_title = "Territoires d'industrie"

urlpatterns = [
    path("", include("programme.urls")),
    path("", include("accounts.urls")),
    path("", include("cases.urls")),
    path("", include("workflows.urls")),
    path("", include("notifications.urls")),
    path("", include("deadlines.urls")),
    path("", include("api.urls")),
    path("admin/", admin.site.urls),
]

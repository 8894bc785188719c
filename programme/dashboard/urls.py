from django.urls import URLPattern, path

from programme.dashboard import views

urlpatterns: list[URLPattern] = [
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path(
        "tableau-de-bord/export/<slug:block>.<str:fmt>",
        views.dashboard_export,
        name="dashboard-export",
    ),
    path("tableau-de-bord/point-d-etape.pdf", views.progress_report, name="dashboard-report"),
    path("api/stats/", views.api_stats, name="api-stats"),
]

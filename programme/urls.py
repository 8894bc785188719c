"""The programme as a whole, read-only: each role's home page, the territories, the
dashboard and its exports, the committee's progress report and the open statistics."""

from programme.dashboard.urls import urlpatterns as dashboard_urls
from programme.home.urls import urlpatterns as home_urls

urlpatterns = [*home_urls, *dashboard_urls]

from django.urls import path

from programme.home import views

urlpatterns = [
    path("", views.home, name="home"),
    path("territoires/", views.territory_list, name="territory-list"),
]

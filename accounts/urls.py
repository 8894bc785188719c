from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("territoires/<str:code>/", views.territory_detail, name="territory-detail"),
]

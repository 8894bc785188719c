from django.urls import path

from workflows import views

urlpatterns = [
    path("taches/", views.task_list, name="task-list"),
    path("taches/<int:pk>/", views.task_detail, name="task-detail"),
    path("taches/<int:pk>/prendre/", views.task_assign, name="task-assign"),
    path("taches/<int:pk>/liberer/", views.task_release, name="task-release"),
    path("taches/<int:pk>/reprendre/", views.task_take_over, name="task-take-over"),
]

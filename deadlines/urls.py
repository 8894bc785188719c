from django.urls import path

from deadlines import views

urlpatterns = [
    path(
        "accuses-de-reception/<int:pk>.pdf",
        views.acknowledgement_pdf,
        name="acknowledgement-pdf",
    ),
]

"""One viewflow process per case: it records whose turn it is, the case records what it is."""

from django.db import models
from viewflow.workflow.models import Process


class CaseProcess(Process):
    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="process", verbose_name="dossier"
    )

    class Meta:
        verbose_name = "circuit d'un dossier"
        verbose_name_plural = "circuits des dossiers"

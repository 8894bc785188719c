from django.db import models


class DashboardSnapshot(models.Model):
    """The dashboard's figures last computed for one scope and set of filters, kept in the
    database so that every web process and the worker share them (the demo's cache is per
    process). ``generation`` and ``day`` say which state of the data they describe: when
    either has moved on, the page still shows them, dated, while the worker computes new
    ones (``programme.dashboard.figures``)."""

    key = models.CharField(max_length=64, unique=True)
    generation = models.CharField(max_length=200)
    day = models.DateField()
    computed_at = models.DateTimeField(db_index=True)
    # Set when a refresh is queued, cleared when one is stored: one queued at a time.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    # The figures as plain Python data (dicts, lists, Decimal, dates), pickled: they are
    # computed by this code only, never taken from a request.
    data = models.BinaryField()

    class Meta:
        verbose_name = "chiffres calculés du tableau de bord"
        verbose_name_plural = "chiffres calculés du tableau de bord"

    def __str__(self) -> str:
        return f"Chiffres du {self.computed_at:%Y-%m-%d %H:%M:%S}"

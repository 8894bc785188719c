from django.core.management.base import BaseCommand
from django.db import transaction

from cases.models import Case
from workflows.engine import start_process


class Command(BaseCommand):
    help = "Démarre le circuit de validation des dossiers qui n'en ont pas encore."

    def handle(self, *args, **options):
        started = 0
        for case in Case.objects.filter(process__isnull=True).order_by("pk").iterator():
            with transaction.atomic():
                locked = Case.objects.select_for_update().get(pk=case.pk)
                if not hasattr(locked, "process"):
                    start_process(locked)
                    started += 1
        if started:
            self.stdout.write(f"{started} circuit(s) de validation démarré(s).")
        else:
            self.stdout.write("Tous les dossiers ont déjà leur circuit de validation.")

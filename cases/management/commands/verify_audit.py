from django.core.management.base import BaseCommand, CommandError

from cases.contracts.amendments import link_break
from cases.contracts.models import ContractAmendment, ContractVersion
from cases.contracts.signing import version_break
from cases.kernel.audit import verify_case
from cases.kernel.models import Case
from cases.waves.audit import verify_wave
from cases.waves.models import Wave


class Command(BaseCommand):
    help = (
        "Vérifie la chaîne d'audit de chaque dossier ; échoue en nommant le premier maillon rompu."
    )

    def handle(self, *args, **options):
        checked = 0
        for case in Case.objects.order_by("pk").iterator():
            broken = verify_case(case)
            if broken is not None:
                raise CommandError(f"Chaîne d'audit rompue — {broken}")
            checked += 1
        for amendment in ContractAmendment.objects.select_related("parent").order_by("pk"):
            unlinked = link_break(amendment)
            if unlinked is not None:
                raise CommandError(f"Chaîne d'audit rompue — {unlinked}")
        for version in ContractVersion.objects.select_related("contract").iterator():
            altered = version_break(version)
            if altered is not None:
                raise CommandError(f"Chaîne d'audit rompue — {altered}")
        waves = 0
        for wave in Wave.objects.order_by("pk").iterator():
            problem = verify_wave(wave)
            if problem is not None:
                raise CommandError(f"Chaîne d'audit rompue — {problem}")
            waves += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"{checked} dossier(s) et {waves} vague(s) vérifiés : chaînes intactes."
            )
        )

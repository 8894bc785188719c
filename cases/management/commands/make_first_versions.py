"""Version 1 and its signatories for the contracts contractualised before versions existed."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases.contracts import signing
from cases.contracts.models import TerritoryContract


class Command(BaseCommand):
    help = (
        "Crée la version 1 (et ses signataires) des contrats contractualisés qui n'en ont pas : "
        "ceux d'avant les versions. Sans effet sur les autres ; relançable."
    )

    def handle(self, *args, **options):
        made = 0
        while True:
            with transaction.atomic():
                # Locked as a wave's validation locks them, so that nothing acts on them meanwhile.
                batch = list(
                    TerritoryContract.objects.select_for_update(of=("self", "case_ptr"))
                    .filter(state="contractualised", version_number=0)
                    .select_related("territory__pilot_region")
                    .order_by("pk")[:200]
                )
                if not batch:
                    break
                signing.first_versions(batch, None, timezone.now())
                made += len(batch)
        self.stdout.write(self.style.SUCCESS(f"{made} contrat(s) dotés de leur version 1."))

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from territories.reference_data import DEFAULT_DATA_DIR, ReferenceDataError, load_reference_data


class Command(BaseCommand):
    help = (
        "Charge les régions, les EPCI 2020 et les 148 Territoires d'industrie depuis les "
        "fichiers de référence, en une transaction. Relancer la commande ne change rien."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=DEFAULT_DATA_DIR,
            help="dossier des fichiers CSV (par défaut : territories/data)",
        )

    def handle(self, *args, data_dir: Path, **options):
        try:
            counts = load_reference_data(data_dir, progress=self.stdout.write)
        except ReferenceDataError as error:
            raise CommandError(str(error)) from error
        for count in counts:
            self.stdout.write(f"  {count}")
        if any(count.created or count.updated for count in counts):
            self.stdout.write(self.style.SUCCESS("Données de référence chargées."))
        else:
            self.stdout.write(
                self.style.SUCCESS("Aucun changement : les données de référence sont déjà à jour.")
            )

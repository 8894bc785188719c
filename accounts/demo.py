"""The demo accounts: one per role, on real organisations, plus two elsewhere to show scoping
and one for the demo territory's other EPCI, so that its contracts can be signed by all.

For the embedded demo only; the command refuses to run in production.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.models import OPERATOR_BY_NAME, Organisation, Role, User
from accounts.services import grant_role
from territories.models import Intercommunality, Region

MINISTRY_NAME = "Ministère chargé de l'industrie — Direction générale des entreprises (DGE)"
OPERATOR_NAMES = ("Banque des territoires", "Bpifrance", "Business France", "France Travail")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    first_name: str
    last_name: str
    role: str
    organisation: str  # "epci:<SIREN>", "region:<INSEE>", "ministry" or "operator:<name>"
    description: str
    is_staff: bool = False


# Vallée de l'Arve (8414, piloted by Auvergne-Rhône-Alpes) is the demo territory;
# Caen Industrie (2802, Normandie) is the one "elsewhere".
DEMO_ACCOUNTS = (
    DemoAccount(
        "epci@demo.test",
        "demo-epci-2019",
        "Camille",
        "Martin",
        Role.EPCI_AGENT,
        "epci:200000172",
        "agent de la CC Faucigny-Glières (Vallée de l'Arve)",
    ),
    # Each EPCI of a territory signs its contract for itself: Vallée de l'Arve has two.
    DemoAccount(
        "epci.cluses@demo.test",
        "demo-epci-cluses-2019",
        "Noa",
        "Girard",
        Role.EPCI_AGENT,
        "epci:200033116",
        "agent de la CC Cluses-Arve et Montagnes (Vallée de l'Arve)",
    ),
    DemoAccount(
        "region@demo.test",
        "demo-region-2019",
        "Dominique",
        "Bernard",
        Role.REGION_REVIEWER,
        "region:84",
        "instructeur, Région Auvergne-Rhône-Alpes",
    ),
    DemoAccount(
        "ministere@demo.test",
        "demo-ministere-2019",
        "Claude",
        "Petit",
        Role.MINISTRY_AGENT,
        "ministry",
        "agent du ministère (DGE)",
    ),
    DemoAccount(
        "operateur@demo.test",
        "demo-operateur-2019",
        "Sacha",
        "Durand",
        Role.OPERATOR_AGENT,
        "operator:Banque des territoires",
        "agent de la Banque des territoires",
    ),
    DemoAccount(
        "copil@demo.test",
        "demo-copil-2019",
        "Alix",
        "Leroy",
        Role.STEERING_MEMBER,
        "ministry",
        "membre du comité de pilotage national",
    ),
    DemoAccount(
        "epci.caen@demo.test",
        "demo-epci-caen-2019",
        "Morgan",
        "Moreau",
        Role.EPCI_AGENT,
        "epci:200065597",
        "agent de la CU Caen la Mer (Caen Industrie)",
    ),
    DemoAccount(
        "region.normandie@demo.test",
        "demo-region-normandie-2019",
        "Lou",
        "Simon",
        Role.REGION_REVIEWER,
        "region:28",
        "instructeur, Région Normandie",
    ),
    DemoAccount(
        "admin@demo.test",
        "demo-admin-2019",
        "Ada",
        "Admin",
        Role.MINISTRY_AGENT,
        "ministry",
        "administrateur (accès à /admin/)",
        is_staff=True,
    ),
)


class MissingReferenceData(Exception):
    pass


def national_organisations() -> dict[str, Organisation]:
    """The ministry and the four operators, which exist whatever the demo."""
    organisations = {
        "ministry": Organisation.objects.get_or_create(
            name=MINISTRY_NAME, kind=Organisation.Kind.MINISTRY
        )[0]
    }
    for name in OPERATOR_NAMES:
        organisations[f"operator:{name}"] = Organisation.objects.get_or_create(
            operator=OPERATOR_BY_NAME[name],
            defaults={"name": name, "kind": Organisation.Kind.OPERATOR},
        )[0]
    return organisations


def organisation_for(key: str, national: dict[str, Organisation]) -> Organisation:
    if key in national:
        return national[key]
    kind, _, code = key.partition(":")
    try:
        if kind == "epci":
            epci = Intercommunality.objects.get(siren=code)
            return Organisation.objects.get_or_create(
                intercommunality=epci, defaults={"kind": Organisation.Kind.EPCI, "name": epci.name}
            )[0]
        region = Region.objects.get(code=code)
        return Organisation.objects.get_or_create(
            region=region, defaults={"kind": Organisation.Kind.REGION, "name": f"Région {region}"}
        )[0]
    except (Intercommunality.DoesNotExist, Region.DoesNotExist) as error:
        raise MissingReferenceData(
            "Données de référence absentes : lancez d'abord "
            "« python manage.py load_reference_data »."
        ) from error


@transaction.atomic
def seed_demo() -> list[tuple[DemoAccount, bool]]:
    """Create the demo accounts that are missing; return each account and whether it was new."""
    national = national_organisations()
    results = []
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            email=account.email,
            defaults={
                "first_name": account.first_name,
                "last_name": account.last_name,
                "is_staff": account.is_staff,
                "is_superuser": account.is_staff,
            },
        )
        if created or not user.check_password(account.password):
            user.set_password(account.password)
            user.save(update_fields=["password"])
        grant_role(
            user=user,
            organisation=organisation_for(account.organisation, national),
            role=account.role,
        )
        results.append((account, created))
    return results

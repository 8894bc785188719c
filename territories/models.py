from django.core.validators import RegexValidator
from django.db import models

insee_region_code = RegexValidator(r"^[0-9]{2}$", "Le code INSEE de région compte 2 chiffres.")
siren_format = RegexValidator(r"^[0-9]{9}$", "Le SIREN compte 9 chiffres.")
territory_code = RegexValidator(r"^[0-9]{4}$", "Le code ANCT du territoire compte 4 chiffres.")


class Region(models.Model):
    class Zone(models.TextChoices):
        METRO = "metro", "Métropole"
        DROM = "drom", "Outre-mer (DROM)"

    code = models.CharField("code INSEE", max_length=2, unique=True, validators=[insee_region_code])
    name = models.CharField("nom", max_length=100)
    zone = models.CharField("zone", max_length=5, choices=Zone.choices)

    class Meta:
        verbose_name = "région"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Intercommunality(models.Model):
    class Kind(models.TextChoices):
        CC = "CC", "Communauté de communes"
        CA = "CA", "Communauté d'agglomération"
        CU = "CU", "Communauté urbaine"
        METRO = "METRO", "Métropole"
        MET69 = "MET69", "Métropole de Lyon"

    siren = models.CharField("SIREN", max_length=9, unique=True, validators=[siren_format])
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("nature juridique", max_length=5, choices=Kind.choices)
    population = models.PositiveIntegerField("population totale")
    main_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="intercommunalities",
        verbose_name="région principale",
    )

    class Meta:
        verbose_name = "intercommunalité (EPCI)"
        verbose_name_plural = "intercommunalités (EPCI)"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.siren})"


class Territory(models.Model):
    code = models.CharField("code ANCT", max_length=4, unique=True, validators=[territory_code])
    name = models.CharField("nom", max_length=200)
    pilot_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="piloted_territories",
        verbose_name="région pilote",
    )
    # INSEE codes of the départements its communes lie in, separated by « ; » as in the
    # reference file: they give the territory its calendar of public holidays.
    departements = models.CharField("départements", max_length=60, blank=True)
    intercommunalities = models.ManyToManyField(
        Intercommunality,
        through="TerritoryIntercommunality",
        related_name="territories",
        verbose_name="intercommunalités",
    )

    class Meta:
        verbose_name = "territoire d'industrie"
        verbose_name_plural = "territoires d'industrie"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def departement_codes(self) -> list[str]:
        return [code for code in self.departements.split(";") if code]


class TerritoryIntercommunality(models.Model):
    class Coverage(models.TextChoices):
        FULL = "full", "Complète"
        PARTIAL = "partial", "Partielle"

    territory = models.ForeignKey(
        Territory, on_delete=models.CASCADE, related_name="links", verbose_name="territoire"
    )
    intercommunality = models.ForeignKey(
        Intercommunality,
        on_delete=models.PROTECT,
        related_name="territory_links",
        verbose_name="intercommunalité",
    )
    coverage = models.CharField("couverture", max_length=7, choices=Coverage.choices)

    class Meta:
        verbose_name = "EPCI du territoire"
        verbose_name_plural = "EPCI des territoires"
        constraints = [
            models.UniqueConstraint(
                fields=["territory", "intercommunality"], name="unique_territory_epci"
            )
        ]

    def __str__(self) -> str:
        return f"{self.territory.code} – {self.intercommunality.siren}"

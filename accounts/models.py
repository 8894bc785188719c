from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from territories.models import Intercommunality, Region


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        # People type their address with any capitalisation; it is stored lower-cased.
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A public agent, who logs in with their e-mail address."""

    email = models.EmailField("adresse électronique", unique=True)
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    is_active = models.BooleanField("actif", default=True)
    date_joined = models.DateTimeField("date d'inscription", default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "utilisateur"
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Operator(models.TextChoices):
    """The programme's four national operators; their codes are the funder codes of the
    financing lines they may commit."""

    BANQUE_DES_TERRITOIRES = "banque_des_territoires", "Banque des territoires"
    BPIFRANCE = "bpifrance", "Bpifrance"
    BUSINESS_FRANCE = "business_france", "Business France"
    # Pôle emploi became France Travail on 1 January 2024 (loi du 18 décembre 2023).
    FRANCE_TRAVAIL = "france_travail", "France Travail"


OPERATOR_BY_NAME = {label: value for value, label in Operator.choices} | {
    "Pôle emploi": Operator.FRANCE_TRAVAIL
}


class Organisation(models.Model):
    class Kind(models.TextChoices):
        EPCI = "epci", "Intercommunalité (EPCI)"
        REGION = "region", "Région"
        MINISTRY = "ministry", "Ministère"
        OPERATOR = "operator", "Opérateur"

    kind = models.CharField("nature", max_length=10, choices=Kind.choices)
    # EPCI and Regions are unique through their reference row; two real EPCI share a name
    # ("CC des Quatre Rivières"), so the name is unique only among ministries and operators.
    name = models.CharField("nom", max_length=200)
    intercommunality = models.OneToOneField(
        Intercommunality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisation",
        verbose_name="EPCI de référence",
    )
    region = models.OneToOneField(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisation",
        verbose_name="région de référence",
    )
    operator = models.CharField(
        "opérateur",
        max_length=24,
        choices=Operator.choices,
        blank=True,
        help_text="pour un opérateur : les lignes de financement qu'il peut engager",
    )

    class Meta:
        verbose_name = "organisation"
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                "operator",
                condition=~models.Q(operator=""),
                name="one_organisation_per_operator",
                violation_error_message="Une organisation représente déjà cet opérateur.",
            ),
            models.CheckConstraint(
                name="operator_code_only_on_operators",
                condition=models.Q(operator="") | models.Q(kind="operator"),
                violation_error_message="Seul un opérateur porte un code d'opérateur.",
            ),
            models.UniqueConstraint(
                "kind",
                "name",
                condition=models.Q(kind__in=["ministry", "operator"]),
                name="national_organisation_name_unique",
                violation_error_message="Une organisation nationale porte déjà ce nom.",
            ),
            models.CheckConstraint(
                name="organisation_reference_matches_kind",
                condition=(
                    models.Q(kind="epci", intercommunality__isnull=False, region__isnull=True)
                    | models.Q(kind="region", region__isnull=False, intercommunality__isnull=True)
                    | models.Q(
                        kind__in=["ministry", "operator"],
                        region__isnull=True,
                        intercommunality__isnull=True,
                    )
                ),
                violation_error_message=(
                    "Une organisation EPCI doit être reliée à son EPCI, une Région à sa région, "
                    "et un ministère ou un opérateur à aucun des deux."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    EPCI_AGENT = "epci_agent", "Agent d'intercommunalité"
    REGION_REVIEWER = "region_reviewer", "Instructeur régional"
    MINISTRY_AGENT = "ministry_agent", "Agent du ministère"
    OPERATOR_AGENT = "operator_agent", "Agent d'opérateur"
    STEERING_MEMBER = "steering_member", "Membre du comité de pilotage"


# A role makes sense only in an organisation of the matching kind.
ROLE_ORGANISATION_KINDS: dict[str, set[str]] = {
    Role.EPCI_AGENT: {Organisation.Kind.EPCI},
    Role.REGION_REVIEWER: {Organisation.Kind.REGION},
    Role.MINISTRY_AGENT: {Organisation.Kind.MINISTRY},
    Role.OPERATOR_AGENT: {Organisation.Kind.OPERATOR},
    Role.STEERING_MEMBER: {Organisation.Kind.MINISTRY},
}


class Membership(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name="utilisateur"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name="organisation",
    )
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    # A Region's lead reviewers are told when one of its cases is late (deadlines).
    lead = models.BooleanField(
        "référent",
        default=False,
        help_text="Prévenu quand un dossier de son organisation dépasse son échéance.",
    )

    class Meta:
        verbose_name = "appartenance"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="unique_membership_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} – {self.organisation}"

    def clean(self):
        super().clean()
        organisation = getattr(self, "organisation", None)
        if organisation is None or not self.role:
            return
        if organisation.kind not in ROLE_ORGANISATION_KINDS[self.role]:
            raise ValidationError(
                {
                    "role": (
                        f"Le rôle « {self.get_role_display()} » ne convient pas à une "
                        f"organisation de nature « {organisation.get_kind_display()} »."
                    )
                }
            )

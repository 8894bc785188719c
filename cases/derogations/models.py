"""France Expérimentation derogation requests and the calls for projects they answer."""

import re
import unicodedata
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import transition

from cases.contracts.models import TerritoryContract, within_wave_validation
from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.models import CASE_PAGES, PLAIN_TEXT, Case, ReviewCycle, State
from cases.kernel.validators import validate_plain_text

# France Expérimentation derogation requests.


def siret_is_valid(siret: str) -> bool:
    """Fourteen ASCII digits whose Luhn sum is a multiple of ten."""
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def validate_siret(value: str) -> None:
    if value and not siret_is_valid(value):
        raise ValidationError(
            "Le SIRET « %(value)s » est invalide (14 chiffres avec une clé de Luhn valide).",
            params={"value": value},
        )


class CallForProjects(models.Model):
    name = models.CharField("nom", max_length=200, unique=True, validators=PLAIN_TEXT)
    description = models.TextField("description", blank=True, validators=PLAIN_TEXT)
    opens_at = models.DateTimeField("ouverture")
    closes_at = models.DateTimeField("clôture")

    class Meta:
        verbose_name = "appel à projets"
        verbose_name_plural = "appels à projets"
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                name="call_closes_after_it_opens",
                condition=Q(closes_at__gt=models.F("opens_at")),
                violation_error_message="La clôture doit suivre l'ouverture.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def is_open(self, at) -> bool:
        return self.opens_at <= at < self.closes_at


class RuleKind(models.TextChoices):
    LAW = "law", "Loi"
    ORDINANCE = "ordinance", "Ordonnance"
    DECREE = "decree", "Décret"
    ARRETE = "arrete", "Arrêté"
    CIRCULAR = "circular", "Circulaire"


class Outcome(models.TextChoices):
    GRANTED = "granted", "Dérogation expérimentale accordée"
    REFUSED = "refused", "Demande refusée"
    SOLVED = "solved_without_derogation", "Possible sans dérogation"


class RegionOpinion(models.TextChoices):
    FAVOURABLE = "favourable", "Favorable"
    UNFAVOURABLE = "unfavourable", "Défavorable"


def rule_reference_key(reference: str) -> str:
    """The legal reference reduced to what identifies it, so that variants of spelling match.

    « Code de l'environnement, art. R. 122-2 », « code de l’environnement article R122-2 »
    and « CODE DE L'ENVIRONNEMENT ART R 122-2 » give the same key.
    """
    text = unicodedata.normalize("NFKD", reference).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\barticles?\b|\bart\b\.?", " art ", text)
    return re.sub(r"[^a-z0-9]", "", text)


CASE_PAGES[Case.Kind.DEROGATION.value] = "derogation-detail"


class DerogationRequest(ReviewCycle, Case):
    REFERENCE_PREFIX = "DE"
    TRANSITION_FIELDS = ["decided_at"]

    call = models.ForeignKey(
        CallForProjects,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name="appel à projets",
    )
    applicant = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="derogation_requests",
        verbose_name="intercommunalité porteuse",
    )
    company_name = models.CharField(
        "entreprise (facultatif)", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    company_siret = models.CharField(
        "SIRET de l'entreprise",
        max_length=14,
        blank=True,
        validators=[validate_plain_text, validate_siret],
    )
    title = models.CharField("intitulé", max_length=300, blank=True, validators=PLAIN_TEXT)
    rule_kind = models.CharField("nature du texte", max_length=10, choices=RuleKind.choices)
    rule_reference = models.CharField(
        "référence du texte", max_length=300, blank=True, validators=PLAIN_TEXT
    )
    rule_reference_key = models.CharField(max_length=300, blank=True, db_index=True)
    rule_text = models.TextField(
        "rédaction de la règle qui bloque le projet", blank=True, validators=PLAIN_TEXT
    )
    derogation_requested = models.TextField(
        "dérogation demandée", blank=True, validators=PLAIN_TEXT
    )
    justification = models.TextField("justification", blank=True, validators=PLAIN_TEXT)
    expected_jobs = models.PositiveIntegerField("emplois attendus", null=True, blank=True)
    expected_investment = models.DecimalField(
        "investissement attendu (€)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    duration_months = models.PositiveSmallIntegerField(
        "durée de l'expérimentation (mois)",
        null=True,
        blank=True,
        validators=[MinValueValidator(6), MaxValueValidator(60)],
    )
    evaluation_plan = models.TextField("plan d'évaluation", blank=True, validators=PLAIN_TEXT)
    region_opinion = models.CharField(
        "avis de la Région", max_length=12, choices=RegionOpinion.choices, blank=True
    )
    region_opinion_reasons = models.TextField(
        "motifs de l'avis régional", blank=True, validators=PLAIN_TEXT
    )
    outcome = models.CharField("décision", max_length=30, choices=Outcome.choices, blank=True)
    decision_motivation = models.TextField("motivation", blank=True, validators=PLAIN_TEXT)
    decision_legal_basis = models.TextField(
        "fondement juridique", blank=True, validators=PLAIN_TEXT
    )
    granted_duration_months = models.PositiveSmallIntegerField(
        "durée accordée (mois)", null=True, blank=True
    )
    granted_conditions = models.TextField(
        "conditions de la dérogation", blank=True, validators=PLAIN_TEXT
    )
    solution = models.TextField(
        "solution dans le droit en vigueur", blank=True, validators=PLAIN_TEXT
    )
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    contract = models.ForeignKey(
        TerritoryContract,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="derogations",
        verbose_name="contrat de territoire",
    )

    class Meta:
        verbose_name = "demande de dérogation"
        verbose_name_plural = "demandes de dérogation"

    def submit_problems(self, at=None) -> list[str]:
        problems = []
        required = {
            "title": "l'intitulé",
            "rule_reference": "la référence du texte visé",
            "rule_text": "la rédaction de la règle",
            "derogation_requested": "la dérogation demandée",
            "justification": "la justification",
            "evaluation_plan": "le plan d'évaluation",
        }
        missing = [label for name, label in required.items() if not getattr(self, name).strip()]
        if self.duration_months is None:
            missing.append("la durée de l'expérimentation")
        if missing:
            problems.append(f"À compléter : {', '.join(missing)}.")
        at = at or timezone.now()
        if self.submitted_at is not None:
            # Sent back for changes: the call's deadline applied to the first submission.
            return problems
        if at >= self.call.closes_at:
            problems.append(
                f"L'appel à projets « {self.call} » était ouvert jusqu'au "
                f"{french.call_end(self.call.closes_at)}\u00a0: il est clos, la demande ne peut "
                "plus être déposée. Le brouillon reste enregistré."
            )
        elif at < self.call.opens_at:
            problems.append(f"L'appel à projets « {self.call} » n'est pas encore ouvert.")
        return problems

    def forward_problems(self) -> list[str]:
        if not self.region_opinion:
            return ["La Région doit d'abord donner son avis."]
        return []

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.REGIONAL_REVIEW,
        permission=lambda case, user: perms.is_epci_agent_for(user, case),
    )
    def submit(self, *, at):
        self.submitted_at = at

    @transition(
        field="state",
        source=State.REGIONAL_REVIEW,
        target=State.MINISTERIAL_REVIEW,
        permission=lambda case, user: perms.is_region_reviewer_for(user, case),
    )
    def forward(self, *, at):
        self.ministerial_review_at = at

    @transition(
        field="state",
        source=State.MINISTERIAL_REVIEW,
        target=State.DECIDED,
        permission=lambda case, user: perms.is_ministry_agent(user),
    )
    def decide(self, *, at):
        self.decided_at = at

    @transition(
        field="state",
        source=State.DECIDED,
        target=State.CONTRACTUALISED,
        conditions=[
            lambda case: case.outcome == Outcome.GRANTED,  # type: ignore[attr-defined]
            within_wave_validation,
        ],
        permission=lambda case, user: perms.is_ministry_agent(user),
    )
    def contractualise(self, *, at):
        self.contractualised_at = at

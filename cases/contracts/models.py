"""Territory contracts: the contract, its fiches-actions and their financing lines."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import transition

from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.models import CASE_PAGES, PLAIN_TEXT, Case, ReviewCycle, State

# The wave whose validation is contractualising its cases (cases.waves): the only moment a
# case may be contractualised. The transition's condition refuses it anywhere else, so that
# neither a view, a task, a command nor a call to the model's method can do it directly.
_validating_wave: ContextVar[int | None] = ContextVar("validating_wave", default=None)


@contextmanager
def contractualising(wave_id: int) -> Iterator[None]:
    token = _validating_wave.set(wave_id)
    try:
        yield
    finally:
        _validating_wave.reset(token)


def within_wave_validation(case: object) -> bool:
    return _validating_wave.get() is not None


CASE_PAGES[Case.Kind.CONTRACT.value] = "contract-detail"


class TerritoryContract(ReviewCycle, Case):
    REFERENCE_PREFIX = "CT"

    title = models.CharField("intitulé", max_length=300, blank=True, validators=PLAIN_TEXT)
    summary = models.TextField("résumé", blank=True, validators=PLAIN_TEXT)
    period_start = models.DateField("début du contrat", null=True, blank=True)
    period_end = models.DateField("fin du contrat", null=True, blank=True)
    elected_lead_name = models.CharField(
        "binôme : élu (nom)", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    elected_lead_role = models.CharField(
        "binôme : élu (fonction)", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    industrial_lead_name = models.CharField(
        "binôme : industriel (nom)", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    industrial_lead_role = models.CharField(
        "binôme : industriel (fonction)", max_length=200, blank=True, validators=PLAIN_TEXT
    )

    class Meta:
        verbose_name = "contrat de territoire"
        verbose_name_plural = "contrats de territoire"
        constraints = [
            models.CheckConstraint(
                name="contract_period_in_order",
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                violation_error_message="La fin du contrat doit suivre son début.",
            )
        ]

    def submit_problems(self) -> list[str]:
        problems = []
        if not self.title.strip():
            problems.append("Le contrat n'a pas d'intitulé.")
        if not (self.period_start and self.period_end):
            problems.append("La période du contrat (début et fin) n'est pas renseignée.")
        if not self.actions.exists():
            problems.append("Le contrat ne compte aucune fiche-action.")
        return problems

    # Transitions: their bodies change only the case's own fields; the service does the rest.

    @transition(
        field="state",
        source=State.DRAFT,
        target=State.REGIONAL_REVIEW,
        conditions=[lambda case: not case.submit_problems()],  # type: ignore[attr-defined]
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
    def approve(self, *, at):
        self.ministerial_review_at = at

    @transition(
        field="state",
        source=[State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW],
        target=State.REJECTED,
        permission=lambda case, user: perms.is_current_reviewer_for(user, case),
    )
    def reject(self, *, at):
        self.closed_at = at

    @transition(
        field="state",
        source=State.MINISTERIAL_REVIEW,
        target=State.SIGNED_OFF,
        permission=lambda case, user: perms.is_ministry_agent(user),
    )
    def sign_off(self, *, at):
        self.signed_off_at = at

    @transition(
        field="state",
        source=State.SIGNED_OFF,
        target=State.CONTRACTUALISED,
        conditions=[within_wave_validation],
        permission=lambda case, user: perms.is_ministry_agent(user),
    )
    def contractualise(self, *, at):
        self.contractualised_at = at


class Axis(models.TextChoices):
    ATTRACT = "attirer", "Attirer"
    RECRUIT = "recruter", "Recruter"
    INNOVATE = "innover", "Innover"
    SIMPLIFY = "simplifier", "Simplifier"


class ActionSheet(models.Model):
    """A fiche-action of a territory contract."""

    class Status(models.TextChoices):
        IDEA = "idea", "Idée"
        COMMITTED = "committed", "Engagée"
        IN_PROGRESS = "in_progress", "En cours"
        DONE = "done", "Réalisée"

    contract = models.ForeignKey(
        TerritoryContract, on_delete=models.CASCADE, related_name="actions"
    )
    title = models.CharField("intitulé", max_length=300, validators=PLAIN_TEXT)
    axis = models.CharField("axe", max_length=10, choices=Axis.choices)
    project_owner = models.CharField("porteur de projet", max_length=200, validators=PLAIN_TEXT)
    description = models.TextField("description", blank=True, validators=PLAIN_TEXT)
    total_cost = models.DecimalField(
        "coût total (€)",
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    schedule = models.CharField("calendrier", max_length=200, blank=True, validators=PLAIN_TEXT)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.IDEA)

    class Meta:
        verbose_name = "fiche-action"
        ordering = ["axis", "pk"]
        constraints = [
            models.CheckConstraint(name="action_cost_not_negative", condition=Q(total_cost__gte=0))
        ]

    def __str__(self) -> str:
        return self.title


class Funder(models.TextChoices):
    # The operators' codes are those of accounts.Operator: an operator commits its own lines.
    BANQUE_DES_TERRITOIRES = "banque_des_territoires", "Banque des territoires"
    BPIFRANCE = "bpifrance", "Bpifrance"
    BUSINESS_FRANCE = "business_france", "Business France"
    FRANCE_TRAVAIL = "france_travail", "France Travail"
    REGION = "region", "Région"
    STATE = "state", "État"
    EPCI = "epci", "EPCI"
    OTHER = "other", "Autre"


OPERATOR_FUNDERS = {
    Funder.BANQUE_DES_TERRITOIRES,
    Funder.BPIFRANCE,
    Funder.BUSINESS_FRANCE,
    Funder.FRANCE_TRAVAIL,
}
# Labels of every code a stored payload may hold, retired ones included: the audit log
# is never rewritten, so an event of 2019 still says "pole_emploi".
FUNDER_LABELS = dict(Funder.choices) | {"pole_emploi": "France Travail (ex-Pôle emploi)"}


class FinancingLine(models.Model):
    """What a fiche-action asks of one funder (``amount``), and what that funder answered:
    committed (``committed_amount``, on ``committed_on``) or declined."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Demandé"
        COMMITTED = "committed", "Engagé"
        DECLINED = "declined", "Décliné"

    action = models.ForeignKey(ActionSheet, on_delete=models.CASCADE, related_name="financings")
    funder = models.CharField("financeur", max_length=24, choices=Funder.choices)
    amount = models.DecimalField(
        "montant demandé (€)",
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(
        "statut", max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    committed_amount = models.DecimalField(
        "montant engagé (€)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    committed_on = models.DateField("engagé le", null=True, blank=True)
    note = models.TextField("note du financeur", blank=True, validators=PLAIN_TEXT)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="réponse du financeur par",
    )
    answered_at = models.DateTimeField("réponse du financeur le", null=True, blank=True)

    class Meta:
        verbose_name = "ligne de financement"
        verbose_name_plural = "lignes de financement"
        ordering = ["pk"]
        # The lists and the dashboard filter and sum by funder and by what it answered.
        indexes = [models.Index(fields=["funder", "status"], name="line_funder_status_idx")]
        constraints = [
            models.CheckConstraint(name="financing_not_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="committed_line_has_its_amount",
                condition=~Q(status="committed")
                | Q(committed_amount__isnull=False, committed_amount__gte=0),
                violation_error_message="Un financement engagé porte son montant engagé.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_funder_display()}\u00a0: {french.euros(self.amount)}"

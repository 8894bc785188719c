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


class ContractReview:
    """The steps a contract and its avenants share: submitted by the territory's EPCI (once
    its ``submit_problems`` are none), passed on by its Region, signed off by the ministry."""

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
        source=State.MINISTERIAL_REVIEW,
        target=State.SIGNED_OFF,
        permission=lambda case, user: perms.is_ministry_agent(user),
    )
    def sign_off(self, *, at):
        self.signed_off_at = at


class TerritoryContract(ContractReview, ReviewCycle, Case):
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
    # The contract's signed text, numbered: 1 once its wave contractualised it, N+1 for each
    # avenant its signatories signed (0 before). Not ``Case.version``, which counts every
    # change of the row so that a stale form is refused. Written by the services that make
    # a version (cases.contracts.signing, amendments), not by the transitions: on this
    # table, a transition's save would cost a second UPDATE.
    version_number = models.PositiveIntegerField("version du contrat", default=0, editable=False)

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
        source=[State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW],
        target=State.REJECTED,
        permission=lambda case, user: perms.is_current_reviewer_for(user, case),
    )
    def reject(self, *, at):
        self.closed_at = at

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


class ContractVersion(models.Model):
    """A numbered version of a contract's content, as its signatories sign it. Written once:
    version 1 by the wave's validation, each next one by the avenant that made it."""

    contract = models.ForeignKey(
        TerritoryContract, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField("version")
    # cases.contracts.versions.contract_content: fields, fiches-actions, financing lines.
    content = models.JSONField("contenu")
    content_hash = models.CharField("empreinte SHA-256 du contenu", max_length=64)
    cost_total = models.DecimalField("coût des fiches-actions (€)", max_digits=16, decimal_places=2)
    requested_total = models.DecimalField(
        "financements demandés (€)", max_digits=16, decimal_places=2
    )
    committed_total = models.DecimalField(
        "financements engagés (€)", max_digits=16, decimal_places=2
    )
    amendment = models.OneToOneField(
        "ContractAmendment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="produced_version",
        verbose_name="avenant",
    )
    created_at = models.DateTimeField("date")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = "version de contrat"
        verbose_name_plural = "versions de contrat"
        ordering = ["contract", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="unique_contract_version")
        ]

    def __str__(self) -> str:
        return f"{self.contract} v{self.number}"

    # A signed version never changes: refused to the application, like the audit log.
    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError(
                "Une version de contrat ne se modifie pas : un avenant en fait une autre."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Une version de contrat ne se supprime pas.")


class Party(models.TextChoices):
    EPCI = "epci", "Intercommunalité"
    REGION = "region", "Région"
    STATE = "state", "État"
    OPERATOR = "operator", "Opérateur"


def in_force() -> Q:
    """A version's signatories: version 1's, or those of the avenant that made it, never those
    of an avenant withdrawn before it took effect (their rows stay, on that avenant)."""
    return Q(amendment__isnull=True) | Q(amendment__state=State.SIGNED)


class Signature(models.Model):
    """One signatory of one version of a contract: written unsigned when the version (or the
    avenant that will make it) is ready for signature, signed once by an agent of that party,
    on the authority of a deliberation or a delegation."""

    contract = models.ForeignKey(
        TerritoryContract, on_delete=models.PROTECT, related_name="signatures"
    )
    # The version it signs: for an avenant's signatory, the version the avenant will make.
    version = models.PositiveIntegerField("version signée")
    amendment = models.ForeignKey(
        "ContractAmendment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signatures",
    )
    party = models.CharField("signataire", max_length=10, choices=Party.choices)
    # The EPCI's SIREN, the Region's code, "state", or the operator's code.
    party_ref = models.CharField("référence du signataire", max_length=30)
    label = models.CharField("nom du signataire", max_length=200)
    signer_name = models.CharField(
        "nom de la personne qui signe", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    signer_role = models.CharField(
        "qualité de la personne qui signe", max_length=200, blank=True, validators=PLAIN_TEXT
    )
    signed_on = models.DateField("signé le", null=True, blank=True)
    authority = models.CharField(
        "délibération ou délégation", max_length=300, blank=True, validators=PLAIN_TEXT
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField("enregistrée le", null=True, blank=True)

    class Meta:
        verbose_name = "signature"
        ordering = ["contract", "version", "pk"]
        constraints = [
            # Once per version for the contract's own signatories, once per avenant for an
            # avenant's: a withdrawn avenant's rows, at the version it would have made, must
            # not stand in the way of the next avenant's.
            models.UniqueConstraint(
                fields=["contract", "version", "party", "party_ref"],
                condition=Q(amendment__isnull=True),
                name="unique_signatory",
            ),
            models.UniqueConstraint(
                fields=["amendment", "party", "party_ref"],
                condition=Q(amendment__isnull=False),
                name="unique_amendment_signatory",
            ),
            models.CheckConstraint(
                name="signature_complete",
                condition=Q(signed_on__isnull=True)
                | (~Q(signer_name="") & ~Q(signer_role="") & ~Q(authority="")),
            ),
        ]
        indexes = [
            models.Index(
                fields=["contract", "version"],
                name="signature_missing_idx",
                condition=Q(signed_on__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.contract} v{self.version})"

    @property
    def signed(self) -> bool:
        return self.signed_on is not None


# An avenant's signatures are complete: the service applying it is the only place that may
# move it to « Signé » (the transition's condition refuses it anywhere else).
_enacting: ContextVar[int | None] = ContextVar("enacting_amendment", default=None)


@contextmanager
def enacting(amendment_id: int) -> Iterator[None]:
    token = _enacting.set(amendment_id)
    try:
        yield
    finally:
        _enacting.reset(token)


def within_enactment(case: object) -> bool:
    return _enacting.get() == getattr(case, "pk", None)


CASE_PAGES[Case.Kind.AMENDMENT.value] = "amendment-detail"


class ContractAmendment(ContractReview, ReviewCycle, Case):
    """An avenant: a child case of a contractualised contract, reviewed like it (drafted by
    the EPCI, reviewed by the Region, signed off by the ministry), then signed by the parties
    whose commitments it changes; it then makes the contract's next version."""

    REFERENCE_PREFIX = "AV"
    # Written with each transition (the kind's own fields its transitions set): an avenant
    # rejected, withdrawn or signed is no longer the contract's open one.
    TRANSITION_FIELDS = ["is_open"]

    parent = models.ForeignKey(
        TerritoryContract,
        on_delete=models.PROTECT,
        related_name="amendments",
        verbose_name="contrat",
    )
    number = models.PositiveIntegerField("numéro d'avenant")
    base_version = models.PositiveIntegerField("version modifiée")
    purpose = models.TextField("objet de l'avenant", blank=True, validators=PLAIN_TEXT)
    # The contract's content as the avenant proposes it (cases.contracts.versions).
    proposal = models.JSONField("contenu proposé", default=dict)
    is_open = models.BooleanField("en cours", default=True, editable=False)

    class Meta:
        verbose_name = "avenant"
        verbose_name_plural = "avenants"
        constraints = [
            models.UniqueConstraint(
                fields=["parent"],
                condition=Q(is_open=True),
                name="one_open_amendment",
                violation_error_message="Ce contrat a déjà un avenant en cours.",
            ),
            models.UniqueConstraint(fields=["parent", "number"], name="unique_amendment_number"),
        ]

    def submit_problems(self) -> list[str]:
        from cases.contracts.versions import content_diff

        problems = []
        if not self.purpose.strip():
            problems.append("L'avenant n'indique pas son objet.")
        base = self.parent.versions.get(number=self.base_version).content
        if content_diff(base, self.proposal).is_empty:
            problems.append("L'avenant ne change encore aucune fiche-action.")
        return problems

    @transition(
        field="state",
        source=[State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW],
        target=State.REJECTED,
        permission=lambda case, user: perms.is_current_reviewer_for(user, case),
    )
    def reject(self, *, at):
        self.closed_at = at
        self.is_open = False

    # Also once signed off, while its signatures are awaited: a party that never signs must
    # not keep the contract from ever being amended again. Its unsigned signatures then stay
    # unsigned (they are signed only while the avenant is signed off).
    @transition(
        field="state",
        source=[State.DRAFT, State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW, State.SIGNED_OFF],
        target=State.WITHDRAWN,
        permission=lambda case, user: perms.is_epci_agent_for(user, case),
    )
    def withdraw(self, *, at):
        self.closed_at = at
        self.is_open = False

    @transition(
        field="state",
        source=State.SIGNED_OFF,
        target=State.SIGNED,
        conditions=[within_enactment],
    )
    def enact(self, *, at):
        self.closed_at = at
        self.is_open = False

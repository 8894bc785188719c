"""The cases and what hangs off them: events (the chained audit log), comments, documents.

A case owns its business state: a protected FSM field that only the transitions below
change, and only ``cases.services`` calls those transitions.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from cases import permissions as perms
from territories.models import Territory


class State(models.TextChoices):
    """Every state of every case kind; each kind uses its own subset."""

    DRAFT = "draft", "Brouillon"
    REGIONAL_REVIEW = "regional_review", "Instruction régionale"
    MINISTERIAL_REVIEW = "ministerial_review", "Validation ministérielle"
    SIGNED_OFF = "signed_off", "Validé par le ministère"
    CONTRACTUALISED = "contractualised", "Contractualisé"
    DECIDED = "decided", "Décidé"
    REJECTED = "rejected", "Rejeté"
    WITHDRAWN = "withdrawn", "Retiré"


STATE_LABELS = dict(State.choices)
# DSFR badge variant per state, so that colours mean the same thing on every page.
STATE_BADGES = {
    State.DRAFT: "new",
    State.REGIONAL_REVIEW: "info",
    State.MINISTERIAL_REVIEW: "info",
    State.SIGNED_OFF: "success",
    State.CONTRACTUALISED: "success",
    State.DECIDED: "success",
    State.REJECTED: "error",
    State.WITHDRAWN: "warning",
}


class Case(FSMModelMixin, models.Model):
    class Kind(models.TextChoices):
        CONTRACT = "contract", "Contrat de territoire"
        DEROGATION = "derogation", "Demande de dérogation"

    kind = models.CharField("type de dossier", max_length=12, choices=Kind.choices)
    # Null until the row has its id, from which the reference is made; unique once set.
    reference = models.CharField("référence", max_length=20, unique=True, null=True)  # noqa: DJ001
    territory = models.ForeignKey(
        Territory, on_delete=models.PROTECT, related_name="cases", verbose_name="territoire"
    )
    state = FSMField("état", default=State.DRAFT, choices=State.choices, protected=True)
    version = models.PositiveIntegerField("version", default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="créé par",
    )
    created_at = models.DateTimeField("créé le")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        verbose_name="modifié par",
    )
    updated_at = models.DateTimeField("modifié le")
    submitted_at = models.DateTimeField("déposé le", null=True, blank=True)
    ministerial_review_at = models.DateTimeField("transmis au ministère le", null=True, blank=True)
    signed_off_at = models.DateTimeField("validé le", null=True, blank=True)
    contractualised_at = models.DateTimeField("contractualisé le", null=True, blank=True)
    closed_at = models.DateTimeField("clos le", null=True, blank=True)
    # The head of the audit chain: lets verify_audit see a deleted last event, and lets a
    # transition append without reading the history.
    event_count = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "dossier"
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["kind", "state"])]

    def __str__(self) -> str:
        return self.reference or f"dossier {self.pk}"

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))

    @property
    def state_badge(self) -> str:
        return STATE_BADGES.get(self.state, "info")


class TerritoryContract(Case):
    REFERENCE_PREFIX = "CT"

    title = models.CharField("intitulé", max_length=300, blank=True)
    summary = models.TextField("résumé", blank=True)
    period_start = models.DateField("début du contrat", null=True, blank=True)
    period_end = models.DateField("fin du contrat", null=True, blank=True)
    elected_lead_name = models.CharField("binôme : élu (nom)", max_length=200, blank=True)
    elected_lead_role = models.CharField("binôme : élu (fonction)", max_length=200, blank=True)
    industrial_lead_name = models.CharField("binôme : industriel (nom)", max_length=200, blank=True)
    industrial_lead_role = models.CharField(
        "binôme : industriel (fonction)", max_length=200, blank=True
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
        target=State.DRAFT,
        permission=lambda case, user: perms.is_current_reviewer_for(user, case),
    )
    def request_changes(self, *, at):
        pass

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
        source=[State.DRAFT, State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW],
        target=State.WITHDRAWN,
        permission=lambda case, user: perms.is_epci_agent_for(user, case),
    )
    def withdraw(self, *, at):
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
        # Reserved for the validation of a contractualisation wave: no view calls it.
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
    title = models.CharField("intitulé", max_length=300)
    axis = models.CharField("axe", max_length=10, choices=Axis.choices)
    project_owner = models.CharField("porteur de projet", max_length=200)
    description = models.TextField("description", blank=True)
    total_cost = models.DecimalField(
        "coût total (€)",
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    schedule = models.CharField("calendrier", max_length=200, blank=True)
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
    BANQUE_DES_TERRITOIRES = "banque_des_territoires", "Banque des territoires"
    BPIFRANCE = "bpifrance", "Bpifrance"
    BUSINESS_FRANCE = "business_france", "Business France"
    POLE_EMPLOI = "pole_emploi", "Pôle emploi"
    REGION = "region", "Région"
    STATE = "state", "État"
    EPCI = "epci", "EPCI"
    OTHER = "other", "Autre"


class FinancingLine(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Demandé"
        COMMITTED = "committed", "Engagé"

    action = models.ForeignKey(ActionSheet, on_delete=models.CASCADE, related_name="financings")
    funder = models.CharField("financeur", max_length=24, choices=Funder.choices)
    amount = models.DecimalField(
        "montant (€)",
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(
        "statut", max_length=10, choices=Status.choices, default=Status.REQUESTED
    )

    class Meta:
        verbose_name = "ligne de financement"
        verbose_name_plural = "lignes de financement"
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(name="financing_not_negative", condition=Q(amount__gte=0))
        ]

    def __str__(self) -> str:
        return f"{self.get_funder_display()} : {self.amount} €"


EVENT_LABELS = {
    "create": "Création du dossier",
    "update": "Modification du contrat",
    "action_create": "Ajout d'une fiche-action",
    "action_update": "Modification d'une fiche-action",
    "action_delete": "Suppression d'une fiche-action",
    "submit": "Dépôt pour instruction régionale",
    "approve": "Transmission au ministère",
    "request_changes": "Demande de modifications",
    "reject": "Rejet",
    "withdraw": "Retrait",
    "sign_off": "Validation ministérielle",
    "contractualise": "Contractualisation",
    "comment": "Commentaire",
    "private_note": "Note interne",
    "document_add": "Ajout d'un document",
}


class CaseEvent(models.Model):
    """One entry of a case's append-only audit log, chained to the previous one by its hash."""

    class Kind(models.TextChoices):
        CREATION = "creation", "Création"
        TRANSITION = "transition", "Changement d'état"
        EDIT = "edit", "Modification"
        COMMENT = "comment", "Commentaire"
        DOCUMENT = "document", "Document"
        OPINION = "opinion", "Avis"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField("numéro")
    kind = models.CharField("nature", max_length=12, choices=Kind.choices)
    name = models.CharField("action", max_length=40, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField("date")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    private = models.BooleanField(default=False)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "événement"
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"{self.case} n°{self.seq} {self.kind} {self.name}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Le journal d'audit n'accepte que des ajouts.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Le journal d'audit n'accepte que des ajouts.")

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.name, self.get_kind_display())

    @property
    def from_label(self) -> str:
        return STATE_LABELS.get(self.from_state, self.from_state)

    @property
    def to_label(self) -> str:
        return STATE_LABELS.get(self.to_state, self.to_state)


class Comment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField("message")
    private = models.BooleanField(
        "note interne", default=False, help_text="visible par la Région et le ministère seulement"
    )
    created_at = models.DateTimeField("date")

    class Meta:
        verbose_name = "commentaire"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author} : {self.body[:40]}"


def new_stored_name() -> str:
    return uuid.uuid4().hex


def document_path(instance: "Document", filename: str) -> str:
    # The stored name is generated: the uploader's file name never reaches the file system.
    return f"documents/{instance.case_id}/{instance.stored_name}"


class Document(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    original_name = models.CharField("nom du fichier", max_length=255)
    stored_name = models.CharField(max_length=64, unique=True, default=new_stored_name)
    file = models.FileField(upload_to=document_path, max_length=255)
    content_type = models.CharField("type", max_length=100)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("déposé le")

    class Meta:
        verbose_name = "document"
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name

"""The cases and what hangs off them: events (the chained audit log), comments, documents.

A case owns its business state: a protected FSM field that only the transitions below
change, and only ``cases.services`` calls those transitions.
"""

import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from cases import french
from cases import permissions as perms
from cases.validators import validate_plain_text
from territories.models import Territory

CASE_PAGES = {"contract": "contract-detail", "derogation": "derogation-detail"}
# Every text a user types goes through it (see cases.validators).
PLAIN_TEXT = [validate_plain_text]

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


# « Bientôt dû »: an answer due within this many calendar days.
DUE_SOON_DAYS = 5
DUE_LABELS = {"late": "En retard", "soon": "Bientôt dû"}


def due_status(due_on: date | None, today: date) -> str:
    """ "late", "soon" or "" for a due date."""
    if due_on is None:
        return ""
    if due_on < today:
        return "late"
    return "soon" if (due_on - today).days <= DUE_SOON_DAYS else ""


def due_window(status: str, today: date, field: str = "due_on") -> Q:
    """The rows of that status (``due_status``) as a condition on their due date."""
    if status == "late":
        return Q(**{f"{field}__lt": today})
    return Q(**{f"{field}__gte": today, f"{field}__lte": today + timedelta(days=DUE_SOON_DAYS)})


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
    # By when the current stage must be answered: written by the deadlines app's clock at
    # each transition, kept here so that the lists sort and filter on it without a join.
    due_on = models.DateField("réponse attendue le", null=True, blank=True, editable=False)
    # The head of the audit chain: lets verify_audit see a deleted last event, and lets a
    # transition append without reading the history.
    event_count = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "dossier"
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["kind", "state"]),
            # The lists' keyset order (most recent first, the id breaking ties) and their
            # filter on the date of submission.
            models.Index(fields=["updated_at", "id"], name="case_updated_id_idx"),
            models.Index(fields=["submitted_at"], name="case_submitted_idx"),
            # The lists sorted by due date, the soonest first (its nulls last, as the
            # index keeps them), and their « En retard » and « Bientôt dû » filters.
            models.Index(fields=["due_on", "id"], name="case_due_id_idx"),
        ]

    def __str__(self) -> str:
        return self.reference or f"dossier {self.pk}"

    def get_absolute_url(self) -> str:
        """Its page, for whatever links to it (notifications, tasks), without their importing
        the views of each kind."""
        return reverse(CASE_PAGES[self.kind], args=[self.reference])

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))

    @property
    def state_badge(self) -> str:
        return STATE_BADGES.get(self.state, "info")

    def due_status(self, today: date | None = None) -> str:
        return due_status(self.due_on, today or timezone.localdate())


class ReviewCycle:
    """Transitions every reviewed case kind shares: sent back to its authors by the
    institution whose turn it is, withdrawn by its territory before the end."""

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
        source=[State.DRAFT, State.REGIONAL_REVIEW, State.MINISTERIAL_REVIEW],
        target=State.WITHDRAWN,
        permission=lambda case, user: perms.is_epci_agent_for(user, case),
    )
    def withdraw(self, *, at):
        self.closed_at = at


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
    "forward": "Transmission au ministère",
    "decide": "Décision du ministère",
    "region_opinion": "Avis de la Région",
    "opinion_request": "Demande d'avis",
    "opinion_answer": "Avis rendu",
    "letter": "Lettre de décision",
    "task_takeover": "Reprise de la tâche",
    "financing_commit": "Engagement d'un financement",
    "financing_decline": "Financement décliné",
    "acknowledgement": "Accusé de réception",
    "reminder": "Rappel d'échéance",
    "escalation": "Échéance dépassée",
}


class ChainedEvent(models.Model):
    """An entry of an append-only audit chain: each event carries the hash of the one before
    it, so that verify_audit sees any event altered, removed or moved. ``cases.audit`` holds
    the one implementation of the chains; each event model only declares what varies."""

    # The foreign key to the chain's owner: one chain per owner, whose ``event_count`` and
    # ``audit_head`` let an append go without reading the history.
    chain_owner: ClassVar[str]
    # The fields the hash covers (a foreign key by its id). Rows already stored carry hashes
    # of exactly these fields: changing the list would show every existing chain as broken.
    hashed_fields: ClassVar[tuple[str, ...]]
    # How verify_audit names the owner, and refers to it, in French.
    owner_label: ClassVar[str]
    owner_noun: ClassVar[str]

    # Declared by each concrete model, where they keep their place among its fields.
    seq: int
    prev_hash: str
    hash: str

    class Meta:
        abstract = True

    # The ORM is the only way in for the application: refusing updates and deletes here
    # makes the log append-only for it (an intruder at the database is verify_audit's job).
    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Le journal d'audit n'accepte que des ajouts.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Le journal d'audit n'accepte que des ajouts.")


class CaseEvent(ChainedEvent):
    """One entry of a case's append-only audit log, chained to the previous one by its hash."""

    chain_owner = "case"
    hashed_fields = (
        "case",
        "seq",
        "kind",
        "name",
        "actor",
        "created_at",
        "from_state",
        "to_state",
        "comment",
        "private",
        "payload",
        "prev_hash",
    )
    owner_label = "Dossier {owner}"
    owner_noun = "le dossier"

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
    body = models.TextField("message", validators=PLAIN_TEXT)
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
    # Attached to an opinion: for the reviewing institutions and the organisation that wrote it.
    private = models.BooleanField("réservé", default=False)

    class Meta:
        verbose_name = "document"
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


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


class DerogationRequest(ReviewCycle, Case):
    REFERENCE_PREFIX = "DE"
    EXTRA_TIMESTAMPS = ["decided_at"]

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


class OpinionVerdict(models.TextChoices):
    FAVOURABLE = "favourable", "Favorable"
    UNFAVOURABLE = "unfavourable", "Défavorable"
    RESERVED = "reserved", "Réservé"


class Opinion(models.Model):
    """An avis asked by the ministry of another organisation, answered once."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="opinions")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="opinions",
        verbose_name="organisation consultée",
    )
    question = models.TextField("question posée", blank=True, validators=PLAIN_TEXT)
    due_on = models.DateField("à rendre le")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField("demandé le")
    verdict = models.CharField("avis", max_length=12, choices=OpinionVerdict.choices, blank=True)
    text = models.TextField("texte de l'avis", blank=True, validators=PLAIN_TEXT)
    document = models.ForeignKey(
        "Document", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    answered_at = models.DateTimeField("rendu le", null=True, blank=True)

    class Meta:
        verbose_name = "avis"
        verbose_name_plural = "avis"
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"Avis de {self.organisation} sur {self.case}"

    @property
    def answered(self) -> bool:
        return bool(self.verdict)

    def is_overdue(self, today=None) -> bool:
        return not self.answered and self.due_on < (today or timezone.localdate())


# Contractualisation waves.


class WaveState(models.TextChoices):
    PLANNED = "planned", "Prévue"
    VALIDATED = "validated", "Validée"
    CANCELLED = "cancelled", "Annulée"


class Wave(FSMModelMixin, models.Model):
    """Contracts signed together at one national event, validated in one step."""

    name = models.CharField("nom", max_length=200, validators=PLAIN_TEXT)
    date = models.DateField("date")
    place = models.CharField("lieu", max_length=200, validators=PLAIN_TEXT)
    description = models.TextField("description", blank=True, validators=PLAIN_TEXT)
    state = FSMField("état", default=WaveState.PLANNED, choices=WaveState.choices, protected=True)
    version = models.PositiveIntegerField("version", default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("créée le")
    updated_at = models.DateTimeField("modifiée le")
    validated_at = models.DateTimeField("validée le", null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    cancelled_at = models.DateTimeField("annulée le", null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "vague de contractualisation"
        verbose_name_plural = "vagues de contractualisation"
        ordering = ["date", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def state_label(self) -> str:
        return str(dict(WaveState.choices).get(self.state, self.state))

    # Validating or cancelling a wave is the ministry's, declared like every case transition's
    # permission; cases.waves asks it (``Transition.has_perm``) before it takes the lock.
    @transition(
        field="state",
        source=WaveState.PLANNED,
        target=WaveState.VALIDATED,
        permission=lambda wave, user: perms.is_ministry_agent(user),
    )
    def validate(self, *, at, actor):
        self.validated_at = at
        self.validated_by = actor

    @transition(
        field="state",
        source=WaveState.PLANNED,
        target=WaveState.CANCELLED,
        permission=lambda wave, user: perms.is_ministry_agent(user),
    )
    def cancel(self, *, at):
        self.cancelled_at = at


class WaveItem(models.Model):
    """A contract in a wave. ``active`` while the wave is planned or validated: a contract
    is in at most one such wave, which the database enforces."""

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="items")
    contract = models.ForeignKey(
        TerritoryContract, on_delete=models.PROTECT, related_name="wave_items"
    )
    active = models.BooleanField(default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField("ajouté le")

    class Meta:
        verbose_name = "contrat de la vague"
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(active=True),
                name="contract_in_one_wave",
                violation_error_message="Ce contrat est déjà dans une autre vague.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} dans {self.wave_id}"


class WaveEvent(ChainedEvent):
    """The wave's own append-only audit chain, hashed like the cases' chains."""

    chain_owner = "wave"
    hashed_fields = ("wave", "seq", "name", "actor", "created_at", "payload", "prev_hash")
    owner_label = "Vague « {owner} »"
    owner_noun = "la vague"

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField("numéro")
    name = models.CharField("action", max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField("date")
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "événement de vague"
        ordering = ["wave", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "seq"], name="unique_wave_event_seq")
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} n°{self.seq} {self.name}"


def wave_document_path(instance: "WaveDocument", filename: str) -> str:
    return f"waves/{instance.wave_id}/{instance.stored_name}"


class WaveDocument(models.Model):
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="documents")
    original_name = models.CharField("nom du fichier", max_length=255)
    stored_name = models.CharField(max_length=64, unique=True, default=new_stored_name)
    file = models.FileField(upload_to=wave_document_path, max_length=255)
    content_type = models.CharField("type", max_length=100)
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("SHA-256", max_length=64)
    created_at = models.DateTimeField("créé le")

    class Meta:
        verbose_name = "document de vague"

    def __str__(self) -> str:
        return self.original_name

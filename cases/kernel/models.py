"""The cases and what hangs off them: events (the chained audit log), comments, documents,
opinions. Each case kind adds its own model (``cases.<kind>.models``).

A case owns its business state: a protected FSM field that only the transitions below
change, and only ``cases.kernel.services`` calls those transitions.
"""

import uuid
from datetime import date, timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from cases.kernel import permissions as perms
from cases.kernel.validators import validate_plain_text
from territories.models import Territory

# The name of each case kind's page, by ``Case.kind``: each kind's models add theirs, so that
# the kernel names no kind's page (cases.models imports every kind's models).
CASE_PAGES: dict[str, str] = {}
# Every text a user types goes through it (see cases.validators).
PLAIN_TEXT = [validate_plain_text]


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
    # An avenant once every signatory it needs has signed: it made the contract's next version.
    SIGNED = "signed", "Signé"
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
    State.SIGNED: "success",
    State.DECIDED: "success",
    State.REJECTED: "error",
    State.WITHDRAWN: "warning",
}


class Case(FSMModelMixin, models.Model):
    class Kind(models.TextChoices):
        CONTRACT = "contract", "Contrat de territoire"
        DEROGATION = "derogation", "Demande de dérogation"
        AMENDMENT = "amendment", "Avenant"

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
    "signature": "Signature",
    "amendment_open": "Ouverture d'un avenant",
    "amendment_update": "Modification de l'avenant",
    "enact": "Avenant signé par ses signataires",
    "signature_request": "Demande de signatures",
    "new_version": "Nouvelle version du contrat",
}


class ChainedEvent(models.Model):
    """An entry of an append-only audit chain: each event carries the hash of the one before
    it, so that verify_audit sees any event altered, removed or moved. ``cases.kernel.audit`` holds
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

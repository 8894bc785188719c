"""Services of the France Expérimentation derogation requests.

They reuse the shared machinery of ``cases.kernel.services`` (lock, version check, explicit
permission, guard, audit, announcement); only what is particular to derogations lives here.
"""

import hashlib
from datetime import date
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, Role, User
from cases.contracts.models import TerritoryContract
from cases.derogations.letters import DecisionLetter, render_decision_letter
from cases.derogations.models import (
    CallForProjects,
    DerogationRequest,
    Outcome,
    RegionOpinion,
    rule_reference_key,
)
from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.documents import InspectedUpload
from cases.kernel.models import Case, CaseEvent, Document, Opinion, OpinionVerdict
from cases.kernel.services import (
    PROBLEM_FIXES,
    ActionForbidden,
    ActionNotPossible,
    InvalidInput,
    attach_document,
    case_page_url,
    check_plain_text,
    check_version,
    clean_case_fields,
    insert_case,
    inspect_and_hash,
    lock_case,
    record_event,
    run_declared_transition,
    touch_case,
)
from territories.models import Territory

REQUEST_FIELDS = [
    "title",
    "company_name",
    "company_siret",
    "rule_kind",
    "rule_reference",
    "rule_text",
    "derogation_requested",
    "justification",
    "expected_jobs",
    "expected_investment",
    "duration_months",
    "evaluation_plan",
]
MINISTRY_SIGNATURE = "Ministère chargé de l'industrie — Direction générale des entreprises"


PROBLEM_FIXES["derogation"] = [
    ("À compléter", case_page_url("derogation-edit"), "Compléter la demande"),
    ("Région", case_page_url("derogation-detail", "#avis-region"), "Donner l'avis de la Région"),
    (
        "appel à projets",
        lambda case: reverse("call-detail", args=[case.call_id]),  # type: ignore[attr-defined]
        "Voir l'appel à projets",
    ),
]


def _applicant_for(actor: User, territory: Territory) -> Organisation:
    organisation = (
        Organisation.objects.filter(
            memberships__user=actor,
            memberships__role=Role.EPCI_AGENT,
            intercommunality__territory_links__territory=territory,
        )
        .order_by("name")
        .first()
    )
    if organisation is None:
        raise ActionForbidden(
            "Seuls les agents d'une intercommunalité du territoire peuvent déposer "
            "une demande de dérogation pour ce territoire."
        )
    return organisation


def derogation_create(
    *, territory: Territory, call: CallForProjects, actor: User, **fields: Any
) -> DerogationRequest:
    applicant = _applicant_for(actor, territory)
    now = timezone.now()
    with transaction.atomic():
        request = DerogationRequest(
            kind=Case.Kind.DEROGATION,
            territory=territory,
            call=call,
            applicant=applicant,
            created_by=actor,
            created_at=now,
            updated_by=actor,
            updated_at=now,
            **{name: value for name, value in fields.items() if name in REQUEST_FIELDS},
        )
        request.rule_reference_key = rule_reference_key(request.rule_reference)
        insert_case(request, actor, REQUEST_FIELDS, now)
    return request


def derogation_update(
    *, case: DerogationRequest, actor: User, expected_version: int, changes: dict
) -> DerogationRequest:
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        if not perms.is_epci_agent_for(actor, locked):
            raise ActionForbidden("Vous n'avez pas le droit de modifier cette demande.")
        if locked.state != "draft":
            raise ActionNotPossible(
                f"La demande n'est plus modifiable : elle est à l'état « {locked.state_label} »."
            )
        diff = {}
        for name in REQUEST_FIELDS:
            if name in changes and getattr(locked, name) != changes[name]:
                diff[name] = [getattr(locked, name), changes[name]]
                setattr(locked, name, changes[name])
        if not diff:
            return locked
        locked.rule_reference_key = rule_reference_key(locked.rule_reference)
        clean_case_fields(locked, REQUEST_FIELDS)
        now = timezone.now()
        touch_case(locked, actor, now)
        record_event(
            locked,
            actor,
            fields=[*diff, "rule_reference_key", "version", "updated_at", "updated_by"],
            kind=CaseEvent.Kind.EDIT,
            name="update_request",
            payload={"changes": diff},
            at=now,
        )
    return locked


def region_opinion_give(
    *, case: DerogationRequest, actor: User, opinion: str, reasons: str, expected_version: int
) -> DerogationRequest:
    reasons = (reasons or "").strip()
    check_plain_text(reasons=reasons)
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        if not perms.is_region_reviewer_for(actor, locked):
            raise ActionForbidden("Seule la Région pilote du territoire donne cet avis.")
        if locked.state != "regional_review":
            raise ActionNotPossible("L'avis de la Région se donne pendant l'instruction régionale.")
        if opinion not in RegionOpinion.values:
            raise InvalidInput("Choisissez un avis favorable ou défavorable.", field="opinion")
        if not reasons:
            raise InvalidInput("Les motifs de l'avis sont obligatoires.", field="reasons")
        locked.region_opinion, locked.region_opinion_reasons = opinion, reasons
        now = timezone.now()
        touch_case(locked, actor, now)
        record_event(
            locked,
            actor,
            fields=[
                "region_opinion",
                "region_opinion_reasons",
                "version",
                "updated_at",
                "updated_by",
            ],
            kind=CaseEvent.Kind.OPINION,
            name="region_opinion",
            comment=reasons,
            payload={"opinion": opinion},
            at=now,
        )
    return locked


def _decision_problems(
    outcome: str,
    motivation: str,
    legal_basis: str,
    duration: int | None,
    conditions: str,
    solution: str,
) -> dict[str, list[str]]:
    """What is missing, by the name of the decision form's field it is about."""
    problems: dict[str, list[str]] = {}
    if outcome not in Outcome.values:
        problems["outcome"] = ["Choisissez l'issue de la demande."]
    if not motivation:
        problems["motivation"] = ["La motivation est obligatoire."]
    if not legal_basis:
        problems["legal_basis"] = ["Le fondement juridique est obligatoire."]
    if outcome == Outcome.GRANTED:
        if duration is None or not 6 <= duration <= 60:
            problems["granted_duration_months"] = [
                "Une dérogation accordée a une durée de 6 à 60 mois."
            ]
        if not conditions:
            problems["granted_conditions"] = ["Précisez les conditions de la dérogation accordée."]
    if outcome == Outcome.SOLVED and not solution:
        problems["solution"] = ["Dites comment le projet est possible dans le droit en vigueur."]
    return problems


def _letter_for(request: DerogationRequest, actor: User, today: date) -> DecisionLetter:
    details = []
    if request.outcome == Outcome.GRANTED:
        details = [
            ("Durée de l'expérimentation", f"{request.granted_duration_months} mois"),
            ("Conditions", request.granted_conditions),
        ]
    elif request.outcome == Outcome.SOLVED:
        details = [("Solution dans le droit en vigueur", request.solution)]
    return DecisionLetter(
        reference=request.reference or "",
        applicant=request.applicant.name,
        territory=request.territory.name,
        title=request.title,
        rule_kind=request.get_rule_kind_display(),
        rule_reference=request.rule_reference,
        outcome=request.get_outcome_display(),
        motivation=request.decision_motivation,
        legal_basis=request.decision_legal_basis,
        decided_on=today,
        signatory=f"{actor.get_full_name() or actor.email}, {MINISTRY_SIGNATURE}",
        details=details,
    )


def case_decide(
    *,
    case: DerogationRequest,
    actor: User,
    outcome: str,
    motivation: str,
    legal_basis: str,
    granted_duration_months: int | None = None,
    granted_conditions: str = "",
    solution: str = "",
    expected_version: int | None = None,
) -> DerogationRequest:
    motivation, legal_basis = (motivation or "").strip(), (legal_basis or "").strip()
    conditions, solution = (granted_conditions or "").strip(), (solution or "").strip()
    check_plain_text(
        motivation=motivation,
        legal_basis=legal_basis,
        granted_conditions=conditions,
        solution=solution,
    )
    stored: list[Document] = []

    def prepare(locked: DerogationRequest) -> tuple[list[str], dict]:
        problems = _decision_problems(
            outcome, motivation, legal_basis, granted_duration_months, conditions, solution
        )
        if problems:
            raise InvalidInput("La décision est incomplète :", field_errors=problems)
        locked.outcome = outcome
        locked.decision_motivation, locked.decision_legal_basis = motivation, legal_basis
        granted = outcome == Outcome.GRANTED
        locked.granted_duration_months = granted_duration_months if granted else None
        locked.granted_conditions = conditions if granted else ""
        locked.solution = solution if outcome == Outcome.SOLVED else ""
        if granted:
            locked.contract = (
                TerritoryContract.objects.filter(territory_id=locked.territory_id)
                .exclude(state__in=["withdrawn", "rejected", "contractualised"])
                .order_by("-pk")
                .first()
            )
        document = _store_letter(locked, actor)
        stored.append(document)
        fields = [
            "outcome",
            "decision_motivation",
            "decision_legal_basis",
            "granted_duration_months",
            "granted_conditions",
            "solution",
            "contract",
        ]
        letter = {"document": document.pk, "sha256": document.sha256, "size": document.size}
        return fields, {"outcome": outcome, "legal_basis": legal_basis, "letter": letter}

    try:
        decided = run_declared_transition(
            case=case,
            actor=actor,
            name="decide",
            comment=motivation,
            expected_version=expected_version,
            prepare=prepare,
        )
    except Exception:
        for document in stored:
            document.file.delete(save=False)
        raise
    assert isinstance(decided, DerogationRequest)
    return decided


def _store_letter(locked: DerogationRequest, actor: User) -> Document:
    content = render_decision_letter(_letter_for(locked, actor, timezone.localdate()))
    document = Document(
        case=locked,
        original_name=f"decision-{locked.reference}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    document.file.save(document.stored_name, ContentFile(content), save=False)
    document.save()
    return document


def opinion_request(
    *,
    case: DerogationRequest,
    actor: User,
    organisation: Organisation,
    due_on: date,
    question: str,
    expected_version: int | None = None,
) -> Opinion:
    question = (question or "").strip()
    check_plain_text(question=question)
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        if not perms.is_ministry_agent(actor):
            raise ActionForbidden("Seul le ministère demande des avis.")
        if locked.state != "ministerial_review":
            raise ActionNotPossible("Les avis se demandent pendant la validation ministérielle.")
        if organisation.kind not in (Organisation.Kind.MINISTRY, Organisation.Kind.OPERATOR):
            raise InvalidInput(
                "On demande l'avis d'un ministère ou d'un opérateur.", field="organisation"
            )
        if perms.is_member_of(actor, organisation.pk):
            raise InvalidInput(
                "Votre propre organisation ne peut pas être consultée.", field="organisation"
            )
        if due_on < timezone.localdate():
            raise InvalidInput("La date de réponse attendue est déjà passée.", field="due_on")
        if locked.opinions.filter(organisation=organisation, verdict="").exists():
            raise ActionNotPossible(
                f"Un avis de {organisation} est déjà attendu.", field="organisation"
            )
        now = timezone.now()
        opinion = Opinion.objects.create(
            case=locked,
            organisation=organisation,
            question=question,
            due_on=due_on,
            requested_by=actor,
            requested_at=now,
        )
        record_event(
            locked,
            actor,
            fields=[],
            extra={"opinion": opinion.pk, "organisation": organisation.pk},
            kind=CaseEvent.Kind.OPINION,
            name="opinion_request",
            comment=question,
            private=True,
            payload={
                "opinion": opinion.pk,
                "organisation": organisation.name,
                "due_on": str(due_on),
            },
            at=now,
        )
    return opinion


class OpinionAlreadyAnswered(ActionNotPossible):
    """Someone of the same organisation answered first: who and when, for the second one."""

    def __init__(self, answered: Opinion):
        when = french.datetime_fr(answered.answered_at)
        super().__init__(
            f"Cet avis a déjà été rendu par {answered.answered_by} le {when} : "
            "le vôtre n'a pas été enregistré."
        )
        self.answered = answered


def opinion_closed(opinion: Opinion, case: Case) -> ActionNotPossible | None:
    """Why ``opinion`` can no longer be answered, or None while it is awaited."""
    if opinion.answered:
        return OpinionAlreadyAnswered(opinion)
    if case.state != "ministerial_review":
        return ActionNotPossible("Le dossier n'attend plus d'avis : il a changé d'étape.")
    return None


def opinion_answer(
    *,
    opinion: Opinion,
    actor: User,
    verdict: str,
    text: str,
    upload: UploadedFile | None = None,
    expected_version: int | None = None,
) -> Opinion:
    """``expected_version`` (the API's If-Match): the case's version its author read."""
    text = (text or "").strip()
    if verdict not in OpinionVerdict.values:
        raise InvalidInput(
            "Choisissez un avis : favorable, défavorable ou réservé.", field="verdict"
        )
    if not text:
        raise InvalidInput("Le texte de l'avis est obligatoire.", field="text")
    check_plain_text(text=text)
    inspected = inspect_and_hash(upload) if upload is not None else None
    stored: list = []
    try:
        with transaction.atomic():
            locked = _answer(
                opinion, actor, (verdict, text), upload, inspected, stored, expected_version
            )
    except Exception:
        # Also when the commit itself fails: no file without its row.
        for document in stored:
            document.file.delete(save=False)
        raise
    return locked


def _answer(
    opinion: Opinion,
    actor: User,
    answer: tuple[str, str],
    upload: UploadedFile | None,
    inspected: tuple[InspectedUpload, str] | None,
    stored: list[Document],
    expected_version: int | None,
) -> Opinion:
    verdict, text = answer
    locked_case = lock_case(opinion.case)
    check_version(locked_case, expected_version)
    locked = Opinion.objects.select_for_update().get(pk=opinion.pk)
    if not perms.is_member_of(actor, locked.organisation_id):
        raise ActionForbidden("Seuls les membres de l'organisation consultée rendent cet avis.")
    closed = opinion_closed(locked, locked_case)
    if closed is not None:
        raise closed
    if upload is not None and inspected is not None:  # inspected only when uploaded
        locked.document = attach_document(locked_case, actor, upload, *inspected, private=True)
        stored.append(locked.document)
    now = timezone.now()
    locked.verdict, locked.text = verdict, text
    locked.answered_by, locked.answered_at = actor, now
    locked.save(update_fields=["verdict", "text", "answered_by", "answered_at", "document"])
    record_event(
        locked_case,
        actor,
        fields=[],
        extra={"opinion": locked.pk},
        kind=CaseEvent.Kind.OPINION,
        name="opinion_answer",
        comment=text,
        private=True,
        payload={
            "opinion": locked.pk,
            "verdict": verdict,
            "organisation": str(locked.organisation),
        },
        at=now,
    )
    return locked

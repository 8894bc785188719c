"""The only code that changes a case, with each case kind's services (``cases.<kind>.services``)
that build on it: the transition runner and its table, the lock, version, audit and
announcement helpers, comments and documents. Views, flows, commands and tests all come
through here.

Every service runs in one transaction: lock the case row, check the version the user saw,
check the actor's permission explicitly, check the guard, act, save, append the audit event,
announce. Whatever fails raises a ``CaseActionError`` with a French message, and nothing
is changed.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed

from accounts.models import User
from cases.kernel import french
from cases.kernel import permissions as perms
from cases.kernel.audit import append_event
from cases.kernel.documents import DocumentRejected, InspectedUpload, inspect_upload
from cases.kernel.hooks import CaseAnnouncement, announce
from cases.kernel.models import Case, CaseEvent, Comment, Document
from cases.kernel.validators import plain_text_error

TIMESTAMP_FIELDS = [
    "submitted_at",
    "ministerial_review_at",
    "signed_off_at",
    "contractualised_at",
    "closed_at",
]


class CaseActionError(Exception):
    """An action refused with a message for the user; ``status`` is the HTTP answer.

    ``field_errors`` names the input each problem is about, when the service knows it, so
    that a form can show each one on its field; ``problems`` still lists them all."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        problems: list[str] | None = None,
        field: str | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field_errors = {name: list(errs) for name, errs in (field_errors or {}).items()}
        if field is not None:
            self.field_errors.setdefault(field, []).append(message)
        listed = [m for errs in self.field_errors.values() for m in errs if m != message]
        self.problems = problems or listed

    @property
    def text(self) -> str:
        return " ".join([self.message, *self.problems])


class ActionForbidden(CaseActionError):
    status = 403


class ActionNotPossible(CaseActionError):
    status = 409


class StaleCase(CaseActionError):
    """``changed`` says who changed the case and when; ``current_version`` is its version now,
    for a page that shows the refused form again beside the case as it is."""

    status = 409

    def __init__(self, message: str, *, changed: str = "", current_version: int | None = None):
        super().__init__(message)
        self.changed = changed
        self.current_version = current_version


class InvalidInput(CaseActionError):
    status = 400


def check_plain_text(**texts: str) -> None:
    """Refuse what no model cleans (comments, transition comments, opinions) with the
    validator the forms use, so that every caller of a service gets the same answer."""
    field_errors = {
        name: [message]
        for name, value in texts.items()
        if (message := plain_text_error(value)) is not None
    }
    if field_errors:
        first = next(iter(field_errors.values()))[0]
        raise InvalidInput(first, field_errors=field_errors)


# The machinery shared by every case kind.


def lock_case[AnyCase: Case](case: AnyCase) -> AnyCase:
    return type(case)._default_manager.select_for_update().get(pk=case.pk)  # type: ignore[return-value]


def check_version(locked: Case, expected_version: int | None) -> None:
    if expected_version is None or locked.version == expected_version:
        return
    who = locked.updated_by or locked.created_by
    changed = (
        f"Ce dossier vient d'être modifié par {who} le {french.datetime_fr(locked.updated_at)}."
    )
    raise StaleCase(
        f"{changed} Rien n'a été enregistré : rechargez la page pour voir la version actuelle.",
        changed=changed,
        current_version=locked.version,
    )


def touch_case(locked: Case, actor: User, now: datetime) -> None:
    locked.version += 1
    locked.updated_at = now
    locked.updated_by = actor


# The case's own copies of what a listener keeps (deadlines' due date, for the lists): set on
# the instance by the listener, written with the case.
LISTENER_FIELDS = ["due_on"]


def record_event(
    locked: Case,
    actor: User | None,
    *,
    fields: list[str],
    extra: dict | None = None,
    **event: Any,
) -> CaseEvent:
    """Append the audit event, tell the listeners, save the case. No ``actor``: the system
    acts itself (a reminder).

    The case's row is written after the listeners so that what they set on it goes out in the
    same UPDATE rather than one of their own: a statement less on every transition. They
    read the event from the database and the case from the instance, which is up to date."""
    entry = append_event(locked, actor=actor, **event)
    announce(CaseAnnouncement(case=locked, event=entry, actor=actor, extra=extra or {}))
    locked.save(update_fields=[*fields, "event_count", "audit_head", *LISTENER_FIELDS])
    return entry


def run_transition(
    *, case: Case, actor: User, name: str, comment: str = "", expected_version: int | None = None
) -> Case:
    """A transition of the table (``TRANSITIONS``) by its name; any other name is refused."""
    if name not in TRANSITIONS:
        label = TRANSITION_LABELS.get(name, name)
        raise ActionNotPossible(f"Action inconnue pour ce dossier : {label}.")
    return run_declared_transition(
        case=case, actor=actor, name=name, comment=comment, expected_version=expected_version
    )


def run_declared_transition[AnyCase: Case](
    *,
    case: AnyCase,
    actor: User,
    name: str,
    comment: str = "",
    expected_version: int | None = None,
    prepare: Callable[[AnyCase], tuple[list[str], dict]] | None = None,
    locked_by_caller: bool = False,
    extra: dict | None = None,
) -> AnyCase:
    """The one runner of every transition: lock, version, permission, comment, guards, the
    model's method, the audit event and the announcement, in one transaction.

    ``prepare``, if given, runs once permission and guards have passed: it sets the case's
    own fields that come with the transition and returns their names and the audit payload.
    ``locked_by_caller``: the caller holds the case's lock already (a wave's validation locks
    all its contracts at once, in one order). ``extra``: what the announcement carries for
    the listeners beyond the event (whom to tell)."""
    if name in RESERVED and prepare is None:
        # Only their own services run them, with what they carry (an outcome and its letter,
        # the wave): by its bare name, a decision would have no outcome.
        label = TRANSITION_LABELS[name]
        raise ActionNotPossible(f"Action inconnue pour ce dossier : {label}.")
    comment = (comment or "").strip()
    check_plain_text(comment=comment)
    # Inside the caller's transaction when it holds the lock: no savepoint per case.
    with transaction.atomic(savepoint=not locked_by_caller):
        if not locked_by_caller and (lock_first := LOCKED_FIRST.get(case.kind)) is not None:
            lock_first(case)
        locked = case if locked_by_caller else lock_case(case)
        check_version(locked, expected_version)
        label = TRANSITION_LABELS.get(name, name)
        method = getattr(locked, name, None)
        if method is None or not hasattr(method, "_django_fsm"):
            raise ActionNotPossible(f"Action inconnue pour ce dossier : {label}.")
        if not can_proceed(method, check_conditions=False):
            raise ActionNotPossible(
                f"Impossible de {label} : le dossier est à l'état « {locked.state_label} »."
            )
        # The permission alone: django_fsm's has_transition_perm() also asks the conditions,
        # which would refuse a submission for its missing parts instead of listing them.
        if not method._django_fsm.has_transition_perm(locked, locked.state, actor):
            raise ActionForbidden(f"Vous n'avez pas le droit de {label} pour ce dossier.")
        if name in COMMENT_REQUIRED and not comment:
            raise InvalidInput(f"Un commentaire est obligatoire pour {label}.", field="comment")
        guard = getattr(locked, f"{name}_problems", None)  # may read the clock: under the lock
        problems = guard() if guard else []
        if problems:
            raise InvalidInput(f"Impossible de {label} :", problems=problems)
        extra_fields, payload = prepare(locked) if prepare else ([], {})
        from_state = locked.state
        now = timezone.now()
        try:
            method(at=now)
        except TransitionNotAllowed as error:
            # A condition of the model beyond the guards: contractualisation outside a wave.
            message = REFUSED_HERE.get(name, f"Impossible de {label} maintenant.")
            raise ActionNotPossible(message) from error
        touch_case(locked, actor, now)
        record_event(
            locked,
            actor,
            extra=extra,
            fields=[
                "state",
                "version",
                "updated_at",
                "updated_by",
                *TIMESTAMP_FIELDS,
                *getattr(locked, "TRANSITION_FIELDS", []),
                *extra_fields,
            ],
            kind=CaseEvent.Kind.TRANSITION,
            name=name,
            from_state=from_state,
            to_state=locked.state,
            comment=comment,
            payload=payload,
            at=now,
        )
        follow_up = AFTER_TRANSITION.get((locked.kind, name))
        if follow_up is not None:
            follow_up(locked, actor, now)
    return locked


# What a case kind does, in the transition's transaction, once one of its transitions is
# recorded (an avenant's sign-off writes who must sign it): each kind adds its own.
AFTER_TRANSITION: dict[tuple[str, str], Callable[[Any, User, datetime], None]] = {}
# By case kind, what its transitions lock before the case itself, so that every service takes
# rows in one order: an avenant's contract, which its sign-off and enactment write after
# their listeners have taken other rows (the notification numbers of the same parties).
LOCKED_FIRST: dict[str, Callable[[Any], None]] = {}


def case_submit(*, case: Case, actor: User, expected_version: int | None = None) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="submit", expected_version=expected_version
    )


def case_approve(
    *, case: Case, actor: User, comment: str = "", expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="approve", comment=comment, expected_version=expected_version
    )


def case_request_changes(
    *, case: Case, actor: User, comment: str, expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case,
        actor=actor,
        name="request_changes",
        comment=comment,
        expected_version=expected_version,
    )


def case_reject(
    *, case: Case, actor: User, comment: str, expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="reject", comment=comment, expected_version=expected_version
    )


def case_withdraw(
    *, case: Case, actor: User, comment: str = "", expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="withdraw", comment=comment, expected_version=expected_version
    )


def case_sign_off(
    *, case: Case, actor: User, comment: str = "", expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="sign_off", comment=comment, expected_version=expected_version
    )


def case_forward(
    *, case: Case, actor: User, comment: str = "", expected_version: int | None = None
) -> Case:
    return run_declared_transition(
        case=case, actor=actor, name="forward", comment=comment, expected_version=expected_version
    )


class Transition(NamedTuple):
    label: str
    service: Callable[..., Case] | None = None
    comment_required: bool = False


# The one table of the transitions a user starts by their name, from a page, a task or a
# command: ``run_transition`` and the views accept no other name. Each is its model's
# django-fsm method of that name (permission and guards declared there).
TRANSITIONS: dict[str, Transition] = {
    "submit": Transition("déposer le dossier", case_submit),
    "approve": Transition("transmettre au ministère", case_approve),
    "forward": Transition("transmettre au ministère", case_forward),
    "request_changes": Transition(
        "demander des modifications", case_request_changes, comment_required=True
    ),
    "reject": Transition("rejeter le dossier", case_reject, comment_required=True),
    "withdraw": Transition("retirer le dossier", case_withdraw),
    "sign_off": Transition("valider le dossier", case_sign_off),
}
# Transitions with a service of their own, never started by their name: a derogation's
# decision (cases.derogations.services.case_decide, with its outcome and letter) and
# contractualisation (only within a wave's validation, cases.waves: its model refuses it
# anywhere else).
RESERVED: dict[str, Transition] = {
    "decide": Transition("décider"),
    "contractualise": Transition("contractualiser"),
    "enact": Transition("appliquer l'avenant"),
}
TRANSITION_LABELS = {name: t.label for name, t in (TRANSITIONS | RESERVED).items()}
COMMENT_REQUIRED = {name for name, t in TRANSITIONS.items() if t.comment_required}
REFUSED_HERE = {
    "contractualise": "Un dossier n'est contractualisé que par la validation de sa vague.",
    "enact": "Un avenant s'applique quand tous ses signataires ont signé.",
}
# The service of each transition of the table, for the views' decision forms and the tasks.
TRANSITION_SERVICES: dict[str, Callable[..., Case]] = {
    name: t.service for name, t in TRANSITIONS.items() if t.service is not None
}


def _permitted(case: Case, user: User | AnonymousUser) -> list[str]:
    return [
        name
        for name in TRANSITIONS
        if hasattr(getattr(case, name, None), "_django_fsm")
        and can_proceed(getattr(case, name), check_conditions=False)
        and getattr(case, name)._django_fsm.has_transition_perm(case, case.state, user)
    ]


def _guard_problems(case: Case, name: str) -> list[str]:
    guard = getattr(case, f"{name}_problems", None)
    return guard() if guard else []


def available_transitions(case: Case, user: User | AnonymousUser) -> list[str]:
    """The transitions of TRANSITIONS that ``user`` may take on ``case`` now."""
    return [name for name in _permitted(case, user) if not _guard_problems(case, name)]


class Problem(NamedTuple):
    text: str
    url: str = ""
    link: str = ""


class Blocked(NamedTuple):
    name: str
    label: str
    problems: list[Problem]


def case_page_url(name: str, anchor: str = "") -> Callable[[Case], str]:
    return lambda case: reverse(name, args=[case.reference]) + anchor


# Where to fix what a guard reports, by a word of its message (the models' *_problems), for
# each case kind: each kind's services add theirs when imported; the kernel names no kind.
PROBLEM_FIXES: dict[str, list[tuple[str, Callable[[Case], str], str]]] = {}


def _with_fix(case: Case, text: str) -> Problem:
    for needle, url_of, link in PROBLEM_FIXES.get(case.kind, []):
        if needle in text:
            return Problem(text, url_of(case), link)
    return Problem(text)


def blocked_transitions(case: Case, user: User | AnonymousUser) -> list[Blocked]:
    """Transitions the user could take but for what is missing: what to do first, and where."""
    blocked = []
    for name in _permitted(case, user):
        problems = _guard_problems(case, name)
        if problems:
            label = TRANSITION_LABELS.get(name, name)
            blocked.append(Blocked(name, label, [_with_fix(case, text) for text in problems]))
    return blocked


# Territory contracts.


def clean_instance(instance: Model) -> None:
    try:
        instance.full_clean(validate_unique=False)
    except ValidationError as error:
        raise InvalidInput(
            "Certaines informations sont invalides :", field_errors=error.message_dict
        ) from error


def insert_case(
    case: Case, actor: User, names: list[str], now: datetime, *, links: dict | None = None
) -> None:
    """Check the user's fields, save a new case, give it its reference and its first event
    (``links``: what its first event also names, such as the case it amends). Inside the
    caller's transaction."""
    clean_case_fields(case, names)
    case.save()
    # The year of the Paris date: at 00:30 on 1 January in Paris it is still last year in UTC.
    year = timezone.localdate(now).year
    case.reference = f"{case.REFERENCE_PREFIX}-{year}-{case.pk:04d}"  # type: ignore[attr-defined]
    record_event(
        case,
        actor,
        fields=["reference"],
        kind=CaseEvent.Kind.CREATION,
        name="create",
        to_state=case.state,
        payload={"fields": {name: getattr(case, name) for name in names}, **(links or {})},
        at=now,
    )


def clean_case_fields(case: Case, names: list[str]) -> None:
    try:
        # Only the user's fields: cleaning the protected state would try to set it.
        others = [f.name for f in case._meta.fields if f.name not in names]
        case.clean_fields(exclude=others)
        case.validate_constraints()
    except ValidationError as error:
        raise InvalidInput(
            "Certaines informations sont invalides :", field_errors=error.message_dict
        ) from error


def require_editable(locked: Case, actor: User) -> None:
    if not perms.is_epci_agent_for(actor, locked):
        raise ActionForbidden("Vous n'avez pas le droit de modifier ce dossier.")
    if locked.state != "draft":
        raise ActionNotPossible(
            f"Le dossier n'est plus modifiable : il est à l'état « {locked.state_label} »."
        )


# Comments and documents: every party may add them; they do not change the case's version,
# so that they never make someone's open edit form stale.


def comment_add(
    *,
    case: Case,
    actor: User,
    body: str,
    private: bool = False,
    expected_version: int | None = None,
) -> Comment:
    """A comment does not change the case's version; ``expected_version`` (the API's
    If-Match) refuses one written against a version its author had not read."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Le commentaire est vide.", field="body")
    if len(body) > 10_000:
        raise InvalidInput("Le commentaire dépasse 10 000 caractères.", field="body")
    check_plain_text(body=body)
    with transaction.atomic():
        locked = lock_case(case)
        check_version(locked, expected_version)
        if not perms.can_comment(actor, locked, private=private):
            if private:
                raise ActionForbidden(
                    "Les notes internes sont réservées à la Région et au ministère."
                )
            raise ActionForbidden("Vous ne pouvez pas commenter ce dossier.")
        now = timezone.now()
        comment = Comment.objects.create(
            case=locked, author=actor, body=body, private=private, created_at=now
        )
        record_event(
            locked,
            actor,
            fields=[],
            kind=CaseEvent.Kind.COMMENT,
            name="private_note" if private else "comment",
            comment=body,
            private=private,
            payload={"comment": comment.pk},
            at=now,
        )
    return comment


def case_record_task_takeover(
    *, case: Case, actor: User, previous_owner: User | None, task_title: str = ""
) -> None:
    """The case's history says who took over a task that someone else had taken. Called by
    workflows, in its own transaction; the case row is locked before the task's, as a
    transition does, so the two never deadlock. Private: who, inside the reviewing
    institution, handles the case is theirs to read."""
    with transaction.atomic():
        locked = lock_case(case)
        title = f" « {task_title} »" if task_title else ""
        record_event(
            locked,
            actor,
            fields=[],
            kind=CaseEvent.Kind.EDIT,
            name="task_takeover",
            comment=f"{actor} reprend la tâche{title}, prise en charge par {previous_owner}.",
            private=True,
            payload={"previous_owner": getattr(previous_owner, "pk", None), "task": task_title},
            at=timezone.now(),
        )


def inspect_and_hash(upload: UploadedFile) -> tuple[InspectedUpload, str]:
    """Judge an upload by its content and hash it, before any lock is taken."""
    try:
        inspected = inspect_upload(upload)
    except DocumentRejected as error:
        raise InvalidInput(str(error)) from error
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return inspected, digest.hexdigest()


def attach_document(
    locked: Case,
    actor: User,
    upload: UploadedFile,
    inspected: InspectedUpload,
    sha256: str,
    *,
    private: bool = False,
) -> Document:
    """Store an inspected upload on a locked case and audit it; the caller checked the right
    and deletes the file if its transaction does not commit."""
    # inspect_upload has measured it: an upload without a size does not get this far.
    assert upload.size is not None
    now = timezone.now()
    document = Document(
        private=private,
        case=locked,
        original_name=inspected.safe_name,
        content_type=inspected.content_type,
        size=upload.size,
        sha256=sha256,
        uploaded_by=actor,
        uploaded_at=now,
    )
    document.file.save(document.stored_name, upload, save=False)
    try:
        document.save()
        record_event(
            locked,
            actor,
            fields=[],
            kind=CaseEvent.Kind.DOCUMENT,
            name="document_add",
            private=private,
            payload={
                "document": document.pk,
                "name": document.original_name,
                "sha256": document.sha256,
                "size": document.size,
                "content_type": inspected.content_type,
            },
            at=now,
        )
    except Exception:
        document.file.delete(save=False)
        raise
    return document


def document_add(
    *, case: Case, actor: User, upload: UploadedFile, expected_version: int | None = None
) -> Document:
    """``expected_version`` (the API's If-Match): the case's version its author read."""
    inspected, sha256 = inspect_and_hash(upload)
    stored: list[Document] = []
    try:
        with transaction.atomic():
            locked = lock_case(case)
            check_version(locked, expected_version)
            if not perms.can_upload(actor, locked):
                raise ActionForbidden("Vous ne pouvez pas ajouter de document à ce dossier.")
            stored.append(attach_document(locked, actor, upload, inspected, sha256))
    except Exception:
        # Also when the commit itself fails: no file without its row.
        for document in stored:
            document.file.delete(save=False)
        raise
    return stored[0]

"""The acknowledgement of receipt (accusé de réception) of a submission, as a PDF.

It says what the code des relations entre le public et l'administration asks of one (art.
L112-3 and R112-5): the date of receipt, the service in charge, the date at which silence
becomes a decision (or that it does not), and how to contest an implicit refusal. Written in
the submission's transaction; its SHA-256 goes into the case's audit chain.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from cases.derogations.letters import HEADER, build_pdf, french_date, markup
from cases.kernel import french
from cases.kernel.services import record_event
from cases.models import Case, CaseEvent
from deadlines.clocks import ClockState
from deadlines.models import Acknowledgement, DeadlineRule, OnChanges, Silence

PROGRAMME = "Programme Territoires d'industrie"
KIND_NAMES = {
    Case.Kind.CONTRACT.value: "contrat de territoire",
    Case.Kind.DEROGATION.value: "demande de dérogation (France Expérimentation)",
    Case.Kind.AMENDMENT.value: "avenant à un contrat de territoire",
}


@dataclass(frozen=True, kw_only=True)
class Receipt:
    reference: str
    kind: str
    title: str
    territory: str
    service: str
    received_at: datetime
    legal_due_on: date | None
    silence: str
    restart: bool


def silence_paragraphs(receipt: Receipt) -> list[str]:
    if receipt.legal_due_on is None or receipt.silence == Silence.NONE:
        return [
            "Le silence gardé par l'administration sur ce dossier n'emporte pas de décision : "
            "vous serez informé de chaque étape de son instruction."
        ]
    effect = "acceptée" if receipt.silence == Silence.ACCEPTANCE else "rejetée"
    text = [
        f"À défaut de réponse au {french_date(receipt.legal_due_on)}, votre demande sera "
        f"réputée {effect}."
    ]
    if receipt.restart:
        text.append(
            "Si des pièces ou des compléments vous sont demandés, ce délai ne court qu'à "
            "compter de leur réception."
        )
    else:
        text.append(
            "Si des compléments vous sont demandés, ce délai est suspendu jusqu'à leur "
            "réception, puis reprend."
        )
    if receipt.silence == Silence.REJECTION:
        text.append(
            "Une décision implicite de rejet peut faire l'objet d'un recours gracieux auprès "
            "du service ci-dessus ou d'un recours hiérarchique, et d'un recours contentieux "
            "devant le tribunal administratif compétent dans un délai de deux mois."
        )
    return text


def render(receipt: Receipt) -> bytes:
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14)
    bold = ParagraphStyle("bold", parent=body, fontName="Helvetica-Bold")
    title = ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=14)
    received = (
        f"{french_date(receipt.received_at.date())} à "
        f"{french.time_fr(receipt.received_at).replace(french.NBSP, ' ')}"
    )
    lines = [
        ("Référence", receipt.reference),
        ("Nature", receipt.kind),
        ("Intitulé", receipt.title),
        ("Territoire", receipt.territory),
        ("Date de réception", received),
        ("Service chargé de l'instruction", receipt.service),
    ]
    story = [
        Paragraph(markup(HEADER), bold),
        Paragraph(markup(PROGRAMME), body),
        Spacer(1, 12 * mm),
        Paragraph("Accusé de réception", title),
        Spacer(1, 6 * mm),
        *[Paragraph(f"{markup(label)} : {markup(value)}", body) for label, value in lines],
        Spacer(1, 6 * mm),
        *[Paragraph(markup(text), body) for text in silence_paragraphs(receipt)],
    ]
    return build_pdf(story, title=f"Accusé de réception {receipt.reference}")


def receipt_for(case: Case, event: CaseEvent, rule: DeadlineRule, state: ClockState) -> Receipt:
    region = case.territory.pilot_region.name
    return Receipt(
        reference=case.reference or "",
        kind=KIND_NAMES.get(case.kind, case.kind),
        title=getattr(case, "title", "") or "Sans intitulé",
        territory=case.territory.name,
        service=f"Région {region} (instruction régionale), puis ministère chargé de l'industrie",
        received_at=timezone.localtime(event.created_at),
        legal_due_on=state.legal_due_on,
        silence=rule.silence,
        restart=rule.on_changes == OnChanges.RESTART,
    )


def acknowledge(
    case: Case, event: CaseEvent, actor, rule: DeadlineRule, state: ClockState
) -> Acknowledgement:
    """The submission's acknowledgement, stored, and its hash appended to the audit chain."""
    receipt = receipt_for(case, event, rule, state)
    content = render(receipt)
    digest = hashlib.sha256(content).hexdigest()
    silence_on = state.legal_due_on if rule.silence != Silence.NONE else None
    acknowledgement = Acknowledgement.objects.create(
        case=case,
        received_at=event.created_at,
        silence_on=silence_on,
        content=content,
        sha256=digest,
    )
    record_event(
        case,
        actor,
        fields=[],
        kind=CaseEvent.Kind.DOCUMENT,
        name="acknowledgement",
        payload={
            "acknowledgement": acknowledgement.pk,
            "sha256": digest,
            "size": len(content),
            "silence_on": silence_on.isoformat() if silence_on else None,
        },
    )
    return acknowledgement

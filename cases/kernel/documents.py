"""Checking an uploaded file by its content, never by its name."""

import logging
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import puremagic
from django.http import FileResponse, Http404

MAX_SIZE = 20 * 1024 * 1024
ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
ALLOWED_LABEL = "PDF, ODT, DOCX, XLSX, PNG ou JPEG"


def size_label(size: int) -> str:
    """A size as French users read it: SI megabytes, one decimal, a comma (« 21,0 Mo »)."""
    return f"{size / 1_000_000:.1f}".replace(".", ",") + " Mo"


SIZE_HINT = f"{ALLOWED_LABEL}, {size_label(MAX_SIZE)} au plus."


class DocumentRejected(Exception):
    pass


@dataclass(frozen=True)
class InspectedUpload:
    content_type: str
    safe_name: str


def safe_name(name: str) -> str:
    """The last part of the name the browser sent, without path or control characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    base = base.strip().lstrip(".")
    return base[:200] or "document"


def _detect(upload) -> str:
    # puremagic's deep scan (which tells a DOCX from any ZIP, by its manifest) reads a path.
    path = getattr(upload, "temporary_file_path", None)
    if path:
        return puremagic.from_file(path(), mime=True)
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    try:
        return puremagic.from_file(handle.name, mime=True)
    finally:
        os.unlink(handle.name)
        upload.seek(0)


def inspect_upload(upload) -> InspectedUpload:
    if upload is None:
        raise DocumentRejected("Aucun fichier n'a été envoyé.")
    if upload.size == 0:
        raise DocumentRejected("Le fichier est vide.")
    if upload.size > MAX_SIZE:
        raise DocumentRejected(
            f"Le fichier pèse {size_label(upload.size)} : "
            f"la taille maximale est de {size_label(MAX_SIZE)}."
        )
    try:
        content_type = _detect(upload)
    except puremagic.PureError:
        content_type = ""
    if content_type not in ALLOWED_TYPES:
        raise DocumentRejected(
            "Type de fichier refusé : seuls les documents "
            f"{ALLOWED_LABEL} sont acceptés (le contenu du fichier est vérifié, pas son nom)."
        )
    return InspectedUpload(content_type=content_type, safe_name=safe_name(upload.name))


logger = logging.getLogger(__name__)


def download_response(document) -> FileResponse:
    """The stored file as an attachment, of the type inspected at upload. A file gone from the
    storage is the operators' incident, logged; its reader gets a 404, not a server error."""
    try:
        stream = document.file.open("rb")
    except FileNotFoundError:
        logger.error(
            "Fichier absent du stockage : document %s (%s)", document.pk, document.file.name
        )
        raise Http404("Le fichier de ce document est introuvable.") from None
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    # The browser must not guess another type than the one inspected at upload.
    response["X-Content-Type-Options"] = "nosniff"
    return response

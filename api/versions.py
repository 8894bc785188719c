"""A case's version over HTTP: its ``ETag`` on every read, ``If-Match`` on every write."""

import re

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from cases.kernel.models import Case

ETAG = re.compile(r'^(?:W/)?"(\d+)\.(\d+)"$')


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "En-tête If-Match manquant : indiquez la version du dossier que vous avez lue "
        "(son ETag), pour ne pas écraser une modification faite entre-temps."
    )


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "L'en-tête If-Match ne désigne pas une version de ce dossier : relisez le dossier "
        "pour obtenir son ETag. Rien n'a été enregistré."
    )


def etag_of(case: Case) -> str:
    return f'"{case.pk}.{case.version}"'


def expected_version(request: Request, case: Case) -> int:
    """The version the client read, from If-Match; refused if absent or of another case. The
    service compares it with the version under its lock (a stale one: 412, ``StaleCase``)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise PreconditionRequired
    match = ETAG.match(header)
    if match is None or int(match.group(1)) != case.pk:
        raise PreconditionFailed
    return int(match.group(2))

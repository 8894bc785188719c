"""Every error of the API as problem details (RFC 9457), with a French ``detail``."""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from cases.kernel import french
from cases.kernel.services import CaseActionError, StaleCase

PROBLEM_TYPE = "about:blank"
MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action refusée",
    404: "Introuvable",
    405: "Méthode non permise",
    406: "Format non disponible",
    409: "Conflit",
    412: "Version périmée",
    415: "Type de contenu non pris en charge",
    428: "Version requise",
    429: "Trop de requêtes",
    500: "Erreur interne",
}
NOT_FOUND = "Introuvable, ou hors de votre périmètre."


def problem(
    status_code: int, detail: str, *, errors: dict | None = None, headers: dict | None = None
) -> Response:
    # A client shows these texts to its users as they are: French spacing is set here.
    body: dict = {
        "type": PROBLEM_TYPE,
        "title": TITLES.get(status_code, "Erreur"),
        "status": status_code,
        "detail": french.typo(detail),
    }
    if errors:
        body["errors"] = {name: _typeset(messages) for name, messages in errors.items()}
    return Response(body, status=status_code, headers=headers, content_type=MEDIA_TYPE)


def handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404 | exceptions.NotFound):
        return problem(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    if isinstance(exc, StaleCase):
        # The pages' own message; over HTTP, a precondition (If-Match) that failed.
        return problem(status.HTTP_412_PRECONDITION_FAILED, exc.text)
    if isinstance(exc, CaseActionError):
        return problem(exc.status, exc.text, errors=exc.field_errors or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    errors = None
    if isinstance(data, dict) and "detail" in data:
        detail = str(data["detail"])
    elif isinstance(data, dict):
        errors = {
            name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            for name, msgs in data.items()
        }
        detail = "Certaines valeurs sont invalides : " + ", ".join(errors) + "."
    else:
        detail = " ".join(str(m) for m in data) if isinstance(data, list) else str(data)
    headers = {
        k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    return problem(response.status_code, detail, errors=errors, headers=headers)


def _typeset(messages: object) -> object:
    """An error's messages, however nested (a line of a list of lines), in French spacing."""
    if isinstance(messages, str):
        return french.typo(messages)
    if isinstance(messages, list):
        return [_typeset(message) for message in messages]
    if isinstance(messages, dict):
        return {name: _typeset(message) for name, message in messages.items()}
    return messages

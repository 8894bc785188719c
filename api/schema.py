"""What the schema says of every operation: its errors as problem details."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from api.problems import MEDIA_TYPE

Problem = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(help_text="Ce qui ne va pas, en français."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Les messages de chaque paramètre ou champ refusé.",
        ),
    },
)


def problems(*codes: int) -> dict[Any, OpenApiResponse]:
    """Keyed by status and media type: a problem is served as application/problem+json."""
    descriptions = {
        400: "Paramètre ou champ invalide.",
        401: "Jeton absent, invalide, expiré ou révoqué.",
        403: "Action refusée (jeton en lecture seule, rôle insuffisant).",
        404: "Introuvable, ou hors du périmètre de l'utilisateur.",
        409: "Action impossible dans l'état du dossier (la raison est dans detail).",
        412: "Le dossier a changé depuis la version indiquée par If-Match.",
        415: "Type de contenu non pris en charge (JSON attendu, ou multipart pour un fichier).",
        428: "En-tête If-Match manquant.",
        429: "Trop de requêtes pour ce jeton : réessayez après le délai indiqué.",
    }
    return {
        (code, MEDIA_TYPE): OpenApiResponse(response=Problem, description=descriptions[code])
        for code in codes
    }


READ_PROBLEMS = problems(400, 401, 404, 429)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The personal tokens, as the schema's security scheme (registered on import: apps.py)."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "jeton"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Jeton personnel créé sur la page « Jetons d'accès à l'API ».",
        }

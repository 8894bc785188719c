"""The OpenAPI 3.1 schema and its documentation page, served from the project's own files."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_1_and_documents_the_problems(client):
    answer = client.get("/api/v1/schema/?format=json")
    assert answer.status_code == 200
    # The schema in YAML or JSON as the view chooses; both parse as YAML.
    schema = yaml.safe_load(answer.content)
    assert schema["openapi"] == "3.1.0"
    operation = schema["paths"]["/api/v1/contracts/{reference}/"]["get"]
    assert {"200", "401", "404", "429"} <= set(operation["responses"])
    assert "Problem" in schema["components"]["schemas"]
    # Served as problem details: a client's validator checks the type it receives.
    assert list(operation["responses"]["404"]["content"]) == ["application/problem+json"]
    assert schema["components"]["securitySchemes"]["jeton"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Jeton personnel créé sur la page « Jetons d'accès à l'API ».",
    }
    assert {"jeton": []} in operation["security"]
    parameters = {p["name"] for p in schema["paths"]["/api/v1/contracts/"]["get"]["parameters"]}
    assert {"state", "region", "territory", "wave", "updated_since", "cursor"} <= parameters


def test_the_documentation_page_loads_nothing_from_outside(client):
    page = client.get("/api/v1/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    [script] = [s for s in sources if s.endswith(".js")]
    assert finders.find(script.removeprefix("/static/")), script

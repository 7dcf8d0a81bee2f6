"""The OpenAPI document renders, is valid OpenAPI 3 (drf-spectacular's own validation), and
its docs page loads no script or style from anywhere but this site."""

import re

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/v1/claims/": {"get", "post"},
    "/api/v1/claims/{id}/": {"get", "put", "delete"},
    "/api/v1/claims/{id}/item-options/": {"get"},
    "/api/v1/claims/{id}/items/": {"put"},
    "/api/v1/claims/{id}/contacts/": {"put"},
    "/api/v1/claims/{id}/proofs/": {"post"},
    "/api/v1/claims/{id}/proofs/{proof_id}/": {"delete"},
    "/api/v1/claims/{id}/comments/": {"post"},
    "/api/v1/claims/{id}/submit/": {"post"},
    "/api/v1/claims/{id}/dispute/": {"post"},
    "/api/v1/claims/{id}/disassociate/": {"post"},
    "/api/v1/usage/": {"get"},
    "/api/v1/mpn-ids/": {"get"},
}


def test_the_openapi_document_is_served_without_a_key_and_is_valid(api):
    answer = api().get("/api/v1/schema/")
    assert answer.status_code == 200
    schema = yaml.safe_load(answer.content)
    validate_schema(schema)
    assert {path: set(operations) for path, operations in schema["paths"].items()} == ENDPOINTS
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            assert operation["security"] == [{"apiKey": []}], path
            assert "401" in operation["responses"], path


def test_the_schema_command_validates_with_no_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_the_docs_page_loads_its_scripts_from_this_site_only(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui" in source for source in sources)
    assert all(source.startswith("/") for source in sources), sources
    assert "/api/v1/schema/" in html
    for source in sources:
        if source.startswith(settings.STATIC_URL):
            assert finders.find(source.removeprefix(settings.STATIC_URL)), source

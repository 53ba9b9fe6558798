"""The service's own OpenAPI document describes the contract of SPEC §8."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

CASE = "/api/v1/cases/{case_id}"

EXPECTED_POSTS = [
    "/api/v1/cases",
    *(
        f"{CASE}/{step}"
        for step in (
            "grading",
            "dispatch",
            "accept",
            "return",
            "assign",
            "progress",
            "escalation",
            "transfer",
            "extension",
            "conclusion",
            "ratings",
            "review",
            "reopen",
            "performance",
            "follow-up",
            "corrections",
            "judicial-confirmation",
            "payment-order",
        )
    ),
    *(
        f"{CASE}/mediation/{step}"
        for step in (
            "notice",
            "appraisal",
            "sessions",
            "undisputed-facts",
            "proposal",
            "proposal-response",
            "agreement",
            "failure",
        )
    ),
    "/api/v1/court/confirmations/{confirmation_id}/ruling",
    "/api/v1/mediators",
    "/api/v1/mediators/{mediator_id}/qualification",
    "/api/v1/mediators/{mediator_id}/complaints",
    "/api/v1/mediators/{mediator_id}/complaints/{complaint_id}/finding",
]

EXPECTED_GETS = [CASE, f"{CASE}/events", "/api/v1/org", "/api/v1/mediators/{mediator_id}", "/health", "/ready"]

DOCUMENTED_PROBLEMS = ("401", "403", "404", "409", "412", "422")


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    resolved: dict[str, Any] = target
    return resolved


@pytest.mark.parametrize("path", EXPECTED_POSTS)
def test_every_command_of_the_contract_is_documented(document: dict[str, Any], path: str) -> None:
    """SPEC §8: each command is a POST with a JSON body schema and its problem responses."""
    operation = document["paths"].get(path, {}).get("post")
    assert operation is not None, f"POST {path} is missing from the OpenAPI document"
    assert operation.get("summary"), f"POST {path} has no summary"
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert _resolve(document, body).get("properties") is not None, body
    for status in DOCUMENTED_PROBLEMS:
        response = operation["responses"].get(status)
        assert response is not None, f"POST {path} does not document {status}"
        schema = response["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}, (path, status)
    success = {"200", "201"} & operation["responses"].keys()
    assert success, f"POST {path} documents no success response"


@pytest.mark.parametrize("path", EXPECTED_GETS)
def test_every_read_of_the_contract_is_documented(document: dict[str, Any], path: str) -> None:
    """SPEC §8: GET case, events, org, and the operations endpoints."""
    assert "get" in document["paths"].get(path, {}), f"GET {path} is missing"


def test_the_problem_schema_is_a_component(document: dict[str, Any]) -> None:
    """SPEC §8: errors are RFC 9457 problem details, described once."""
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= problem["properties"].keys()
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    """No ``$ref`` in the document points at a schema that is not there."""
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert refs
    for ref in refs:
        _resolve(document, {"$ref": ref})


def test_commands_document_if_match_and_idempotency_key(document: dict[str, Any]) -> None:
    """SPEC §8: commands accept If-Match and Idempotency-Key."""
    for path in EXPECTED_POSTS:
        names = {p["name"] for p in document["paths"][path]["post"].get("parameters", []) if p["in"] == "header"}
        assert {"If-Match", "Idempotency-Key"} <= names, path


def test_the_bearer_scheme_is_declared(document: dict[str, Any]) -> None:
    """SPEC §8: every request is authenticated with a bearer token."""
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "bearer" for s in schemes.values())

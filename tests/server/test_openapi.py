"""The generated OpenAPI document: the routes of docs/PROTOCOL.md, a well-formed 3.1 document,
and the error codes each route documents, as the protocol's table gives them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sync_client.codes import ErrorCode
from sync_client.wire.routes import ROUTES
from sync_server.openapi import openapi_document

from .harness import ERROR_STATUS, REPO, ServerHarness

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# "GET /api/v1/relay/slots/{slot_id}/events?after=open" or "GET /pair/<slot_id>", in prose or code.
_ROUTE_IN_PROSE = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH) (/[A-Za-z0-9_./{}<>-]*)")


def protocol_routes() -> set[tuple[str, str]]:
    """Every (method, path) docs/PROTOCOL.md names, path parameters written ``{name}``."""
    text = (REPO / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    found = set()
    for method, path in _ROUTE_IN_PROSE.findall(text):
        path = re.sub(r"<([a-z_]+)>", r"{\1}", path.rstrip("."))
        path = path.replace("{slot}", "{slot_id}")
        found.add((method.lower(), path))
    return found


def document_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document["paths"].items() for method in ops}


def refs(value: object) -> Iterator[str]:
    """Every ``$ref`` anywhere in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                assert isinstance(item, str)
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_every_route_of_the_protocol_is_in_the_document_and_no_other() -> None:
    documented = protocol_routes()
    assert len(documented) >= 20  # the parse found the protocol's routes
    assert document_routes(openapi_document()) == documented


def test_the_served_document_is_the_generated_one(server: ServerHarness) -> None:
    response = server.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == openapi_document()


def test_the_document_is_well_formed_openapi_3_1() -> None:
    document = openapi_document()
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    operation_ids = []
    for path, operations in document["paths"].items():
        assert path.startswith("/")
        declared_in_path = set(re.findall(r"{([a-z_]+)}", path))
        for method, op in operations.items():
            assert method in METHODS
            operation_ids.append(op["operationId"])
            assert op["summary"]
            responses = op["responses"]
            assert responses and "default" in responses
            assert any(re.fullmatch(r"2\d\d", status) for status in responses), (path, method)
            for status, answer in responses.items():
                assert status == "default" or re.fullmatch(r"[1-5]\d\d", status)
                assert answer["description"]
                for media in answer.get("content", {}).values():
                    assert "schema" in media
            params = op.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == declared_in_path, (path, method)
            for param in params:
                assert param["in"] in ("path", "query", "header", "cookie")
                assert "schema" in param
                assert param["in"] != "path" or param["required"] is True
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes)
            if "requestBody" in op:
                assert op["requestBody"]["content"]["application/json"]["schema"]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds are unique"
    every_ref = list(refs(document))
    assert every_ref, "the schemas are shared through components"
    for ref in every_ref:
        resolve(document, ref)
    # And every component is used.
    used = {ref.rsplit("/", 1)[1] for ref in every_ref}
    assert set(document["components"]["schemas"]) == used


def test_request_bodies_are_closed_and_responses_open() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for route in ROUTES:
        if route.request is not None:
            op = document["paths"][route.path][route.method.lower()]
            schema = resolve(
                document, op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            )
            assert schema.get("additionalProperties") is False, route.name
    assert schemas["OrderRequest"]["required"] == [
        "order",
        "signature",
        "serial",
        "customer_id",
        "audience",
    ]
    assert schemas["Order"]["additionalProperties"] is False
    assert schemas["CertificateObject"].get("additionalProperties") is not False


def test_each_route_documents_its_codes_with_the_protocols_statuses() -> None:
    document = openapi_document()
    for route in ROUTES:
        op = document["paths"][route.path][route.method.lower()]
        for code in route.refusals:
            assert isinstance(code, ErrorCode)
            assert ERROR_STATUS[code.value] == code.status, code
            answer = op["responses"][str(code.status)]
            codes = answer["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
            assert code.value in codes, (route.name, code)
    orders = document["paths"]["/api/v1/orders"]["post"]["responses"]
    assert (
        "certificate_not_current"
        in orders["409"]["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
    )


def test_session_routes_say_so_and_name_their_device_kind() -> None:
    document = openapi_document()
    for route in ROUTES:
        op = document["paths"][route.path][route.method.lower()]
        assert ("security" in op) == (route.session is not None), route.name
        if route.session in ("pc", "mobile"):
            assert op["x-device-kind"] == route.session

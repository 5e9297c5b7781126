"""The OpenAPI 3.1 document served at ``/openapi.json``, generated from the route table
(``sync_client.wire.routes``) and the JSON schema of the wire models; docs/PROTOCOL.md is the
prose around it.

Each operation gets its request body or query parameters, its answers, its session (the
``bearer`` scheme, and ``x-device-kind`` when one kind is needed) and one response per HTTP
status it refuses with, whose ``error`` is the list of codes the route documents.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sync_client.codes import ErrorCode
from sync_client.wire.base import WireRequest
from sync_client.wire.errors import ErrorResponse
from sync_client.wire.routes import JSON, PATH_PATTERNS, ROUTES, Route

REF = "#/components/schemas/{model}"
_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: dict[type[BaseModel], JsonSchemaMode] = {ErrorResponse: "serialization"}
    for route in ROUTES:
        if route.request is not None:
            seen[route.request] = "validation"
        for model in route.answers.values():
            if model is not None:
                seen[model] = "serialization"
    return list(seen.items())


def _error_schema(ref: str, codes: list[ErrorCode]) -> dict[str, Any]:
    return {
        "allOf": [{"$ref": ref}],
        "properties": {"error": {"enum": [code.value for code in codes]}},
    }


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": PATH_PATTERNS[name]},
        }
        for name in route.path_params
    ]
    if route.query is not None:
        query = _query_schema(route.query)
        for name, schema in query["properties"].items():
            parameters.append(
                {"name": name, "in": "query", "required": name in query.get("required", ()),
                 "schema": schema}
            )  # fmt: skip
    return parameters


def _query_schema(model: type[WireRequest]) -> dict[str, Any]:
    return model.model_json_schema(mode="validation", ref_template=REF)


def _answer(route: Route, status: int, ref: str | None) -> dict[str, Any]:
    if status == 204:
        return {"description": "done; no body"}
    if ref is not None:
        schema: dict[str, Any] = {"$ref": ref}
    elif route.media_type == JSON:
        schema = {"type": "object"}
    elif route.media_type.startswith("text/"):
        schema = {"type": "string"}
    else:
        schema = _BINARY
    return {"description": "success", "content": {route.media_type: {"schema": schema}}}


def _operation(route: Route, refs: dict[type[BaseModel], str]) -> dict[str, Any]:
    error_ref = refs[ErrorResponse]
    responses: dict[str, Any] = {
        str(status): _answer(route, status, refs[model] if model is not None else None)
        for status, model in route.answers.items()
    }
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in route.refusals:
        by_status[code.status].append(code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "refused: " + ", ".join(code.value for code in codes),
            "content": {JSON: {"schema": _error_schema(error_ref, codes)}},
        }
    responses["default"] = {
        "description": "any other refusal (not_found, method_not_allowed); see docs/PROTOCOL.md",
        "content": {JSON: {"schema": {"$ref": error_ref}}},
    }
    op: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "responses": responses,
    }
    if route.session is not None:
        op["security"] = [{"bearer": []}]
        if route.session != "any":
            op["x-device-kind"] = route.session
    if parameters := _parameters(route):
        op["parameters"] = parameters
    if route.request is not None:
        op["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": refs[route.request]}}},
        }
    return op


@cache
def _document() -> dict[str, Any]:
    models = _models()
    keys, schemas = models_json_schema(models, ref_template=REF)
    refs = {model: keys[(model, mode)]["$ref"] for model, mode in models}
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "CertSync", "version": "1", "description": "See docs/PROTOCOL.md."},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """The document (built once per process: the routes and models do not change)."""
    return _document()

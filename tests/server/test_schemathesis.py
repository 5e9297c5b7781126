"""Schemathesis against the real app's own ``/openapi.json``, in process: for every operation,
requests generated from the document (valid ones, and ones that break it) must never get a
``5xx``, and every answer must be one the document lists for that operation — its status,
its content type and its body's schema. So the document is true, and stays true.

Run once with a PC session and once with a phone session, so each route is tried both with
the device kind it needs and with the other one (``wrong_device_kind``, which the document
lists). Logging out is tried with a session of its own, so it does not end the one the other
operations use; the long poll is asked to wait 0 seconds. Budget: ``tests/fuzz_budget.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fuzz_budget import SCHEMA
from hypothesis import given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sync_client.wire import routes

from .harness import ServerHarness

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Breaking the document's own constraints must still give a documented refusal, never a 5xx;
# the response checks apply to those answers too.
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
ROUTE_OF = {(route.method, route.path): route for route in routes.ROUTES}


@pytest.fixture
def openapi(server: ServerHarness) -> Iterator[Any]:
    yield schemathesis.openapi.from_asgi("/openapi.json", server.app)


def _operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    documented = {(r.method.lower(), r.path) for r in routes.ROUTES if r.name != "openapi"}
    assert {(op.method.lower(), op.path) for op in found} >= documented
    return found


def _run(operation: Any, route: routes.Route, mode: GenerationMode, bearer: Any) -> None:
    """Try ``operation`` within the budget; ``bearer()`` gives the token for each request."""

    @SCHEMA
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        if route is routes.SLOT_EVENTS and isinstance(case.query, dict):
            case.query["wait"] = "0"
        response = case.call(headers={"Authorization": f"Bearer {bearer()}"})
        case.validate_response(response, checks=CHECKS)

    check()


@pytest.mark.parametrize("kind", ["pc", "mobile"])
def test_every_operation_answers_as_its_document_says(
    server: ServerHarness, openapi: Any, kind: str
) -> None:
    enrolled = server.enroll()
    token = server.login_token(enrolled.customer_id, kind=kind)

    def fresh_token() -> str:  # logging out ends a session of its own
        return server.login_token(enrolled.customer_id, kind=kind)

    failures: list[str] = []
    for operation in _operations(openapi):
        route = ROUTE_OF[(operation.method.upper(), operation.path)]
        takes_input = route.request or route.query or route.path_params
        # Nothing to break in an operation without parameters or body.
        for mode in MODES if takes_input else MODES[:1]:
            bearer = fresh_token if route is routes.LOGOUT else lambda: token
            try:
                _run(operation, route, mode, bearer)
            except Exception as failure:  # collected, so one run reports every operation
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {failure}")
    assert not failures, "\n\n".join(failures)

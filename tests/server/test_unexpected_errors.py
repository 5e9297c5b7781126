"""An unexpected server error (a bug, or a database in a state no rule foresees) is logged once,
with its traceback and the request's id, and answered ``500 internal_error`` carrying the same
id — in ``X-Request-ID`` and ``details.request_id`` — and nothing else: no exception text, no
traceback. The error is provoked for real: a table the route needs is dropped under the app.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from sqlmodel import text
from starlette.testclient import TestClient

from sync_server.logs import JsonFormatter

from .harness import PASSWORD, ServerHarness, refused

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The JSON lines the server has written so far, formatted live as in production (so each
    carries the request id of its moment)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _break_the_customer_table(server: ServerHarness) -> None:
    with server.host.db.write() as session:
        session.exec(text("DROP TABLE customer"))  # type: ignore[call-overload]


def _login(client: TestClient, customer_id: str, **headers: str) -> httpx2.Response:
    body = {"customer_id": customer_id, "password": PASSWORD, "device_kind": "pc"}
    return client.post("/api/v1/sessions", json=body, headers=headers)


def _errors(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["level"] in ("error", "critical")]


def test_a_500_carries_the_id_of_its_one_log_line(
    server: ServerHarness, log_lines: LogLines
) -> None:
    customer_id = server.add_customer()
    _break_the_customer_table(server)

    # The app's default client: an error re-raised to the ASGI server (which would log it a
    # second time, without the id) would be raised here.
    response = _login(server.client, customer_id)

    body = refused(response, "internal_error")
    rid = response.headers["x-request-id"]
    assert body["details"] == {"request_id": rid}
    assert rid in body["message"]
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert "customer" not in response.text  # not even the table's name
    lines = log_lines()
    [error] = _errors(lines)  # once
    assert error["request_id"] == rid
    assert error["message"] == "internal error on POST /api/v1/sessions"  # the route, no path
    assert "OperationalError" in error["exception"]  # the operators have the details
    [access] = [line for line in lines if line["logger"] == "sync_server.access"]
    assert (access["request_id"], access["status"]) == (rid, 500)


def test_the_callers_request_id_is_the_one_answered_and_logged(
    server: ServerHarness, log_lines: LogLines
) -> None:
    customer_id = server.add_customer()
    _break_the_customer_table(server)
    response = _login(server.client, customer_id, **{"X-Request-ID": "lb-4f2a.9"})
    assert response.headers["x-request-id"] == "lb-4f2a.9"
    assert response.json()["details"]["request_id"] == "lb-4f2a.9"
    [error] = _errors(log_lines())
    assert error["request_id"] == "lb-4f2a.9"


def test_each_failing_request_has_its_own_id_and_line(
    server: ServerHarness, log_lines: LogLines
) -> None:
    customer_id = server.add_customer()
    _break_the_customer_table(server)
    ids = [_login(server.client, customer_id).headers["x-request-id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert [error["request_id"] for error in _errors(log_lines())] == ids


def test_an_ordinary_refusal_has_no_request_id_in_its_body(server: ServerHarness) -> None:
    # The id stays in the header; only a bug's answer repeats it in ``details``.
    response = server.client.get("/api/v1/certificate/status")
    body = refused(response, "unauthenticated")
    assert "details" not in body and response.headers["x-request-id"]

"""A slot id in the path is held to its form at the edge (``sync_server.bodies.path_slot_id``):
one that could never have been issued — a NUL, which PostgreSQL refuses in text (a ``500``
before this check), a non-ASCII letter, a megabyte — is ``404 slot_not_found`` on every slot
route, exactly as an unknown one, before any query runs; nothing changes. The OpenAPI document
says the form, so a generated client (and schemathesis) knows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from sync_client.wire import routes
from sync_server.app import create_app
from sync_server.host import open_host
from sync_server.models import RelaySlot
from sync_server.settings import Settings

from .harness import FAST_KDF, Clock, ServerHarness, refused
from .pg import fresh_database

BAD_IDS = [
    "%00",  # NUL
    "a%00b",
    "A" * 21 + "%00",  # the right length, one NUL
    "A" * 21 + "%C3%A9",  # the right length, one é
    "A" * 23,  # one too many
    "A" * 21,  # one too few
    "A" * 5000,
    "%ED%A0%80",  # the UTF-8 of a lone surrogate (decoded as replacement characters)
    "%FF",
    "....................%2E%2E",
    "AAAAAAAAAAAAAAAAAAAA%2B%3D",  # base64 (with padding), not base64url
]


def _calls(pc: str, mobile: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path with ``{}`` for the id, token, request kwargs) for each slot route."""
    return [
        ("PUT", routes.UPLOAD_CIPHERTEXT.path, pc, {"json": {"ciphertext": "AAAA"}}),
        ("GET", routes.SLOT_EVENTS.path + "?wait=0", pc, {}),
        ("POST", routes.CLAIM_SLOT.path, mobile, {}),
        ("DELETE", routes.CANCEL_SLOT.path, pc, {}),
    ]


def _send(client: TestClient, call: tuple[str, str, str, dict[str, Any]], slot: str) -> Any:
    method, path, token, kwargs = call
    url = path.replace("{slot_id}", slot)
    return client.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _check_every_bad_id_is_not_found(server: ServerHarness) -> None:
    enrolled = server.enroll()
    pc = enrolled.sdk.token
    assert pc is not None
    mobile = server.login_token(enrolled.customer_id, kind="mobile")
    slot = enrolled.sdk.open_slot(
        certificate_fingerprint=enrolled.issued.certificate.fingerprint_sha256
    )
    before = (server.rows(RelaySlot), server.audit())
    for call in _calls(pc, mobile):
        for bad in BAD_IDS:
            response: httpx2.Response = _send(server.client, call, bad)
            refused(response, "slot_not_found")
    assert (server.rows(RelaySlot), server.audit()) == before  # nothing changed, nothing audited
    # The allowed path: the real id in its form still reaches the slot.
    events = _send(server.client, _calls(pc, mobile)[1], slot.slot_id)
    assert events.status_code == 200 and events.json()["state"] == "open"
    cancelled = _send(server.client, _calls(pc, mobile)[3], slot.slot_id)
    assert cancelled.status_code == 204
    assert server.rows(RelaySlot)[0].state == "cancelled"
    assert server.audit(action="relay_cancel")


def test_a_slot_id_not_in_its_form_is_not_found_on_sqlite(server: ServerHarness) -> None:
    _check_every_bad_id_is_not_found(server)


@pytest.fixture
def pg_server(tmp_path: Path, clock: Clock) -> Iterator[ServerHarness]:
    with fresh_database() as url:
        host = open_host(
            Settings(data_dir=tmp_path / "data", database_url=url, **FAST_KDF), clock=clock
        )
        try:
            app = create_app(host)
            with TestClient(app) as client:
                yield ServerHarness(host, app, client, clock)
        finally:
            host.db.dispose()


@pytest.mark.postgres
def test_a_nul_in_a_slot_id_is_not_found_on_postgres(pg_server: ServerHarness) -> None:
    # Before the edge check, PostgreSQL refused the NUL in the query: a 500 internal_error.
    _check_every_bad_id_is_not_found(pg_server)


def test_the_document_gives_the_slot_ids_form(server: ServerHarness) -> None:
    document = server.client.get("/openapi.json").json()
    for route in (routes.UPLOAD_CIPHERTEXT, routes.SLOT_EVENTS, routes.CLAIM_SLOT):
        operation = document["paths"][route.path][route.method.lower()]
        [param] = [p for p in operation["parameters"] if p["in"] == "path"]
        assert param["schema"]["pattern"] == routes.SLOT_ID_PATTERN

"""The retired unlock-secret route (``/api/v1/sessions/current/unlock-secret``) is gone.

It released a secret that opened security setting 2's sealed key to the bearer token alone,
and the token sat on the same disk as the sealed key, so a copy of a client's folder signed
without the PFX password (issue 10; docs/PROTOCOL.md, "Logout, and the retired unlock
secret"). Both clients now keep the unlocked key in a key agent's memory
(``sync_client.key_agent``). Here: the path answers ``not_found`` to a live session of either
kind and changes nothing; the document, the route table and the SDK do not have it; a login
draws no seed into the column that is kept only to spare a migration.
"""

from __future__ import annotations

import pytest

from sync_client.api import SyncClient
from sync_client.wire.routes import ROUTES
from sync_server.credentials import hash_token
from sync_server.models import AuditEvent, LoginSession
from sync_server.openapi import openapi_document

from .harness import ServerHarness, refused

PATH = "/api/v1/sessions/current/unlock-secret"


@pytest.mark.parametrize("kind", ["pc", "mobile"])
def test_the_route_is_gone_for_a_live_session(server: ServerHarness, kind: str) -> None:
    sdk = server.login(server.add_customer(), kind=kind)
    assert sdk.token is not None
    headers = {"Authorization": f"Bearer {sdk.token}"}
    sessions, audit = server.rows(LoginSession), server.rows(AuditEvent)

    for method in ("GET", "POST", "DELETE"):
        answer = server.client.request(method, PATH, headers=headers)
        body = refused(answer, "not_found")
        assert set(body) <= {"error", "message"} and "unlock_secret" not in answer.text
    refused(server.client.get(PATH), "not_found")  # without a token: the same answer

    # Nothing changed, and the session still works: the path is simply not there.
    assert server.rows(LoginSession) == sessions and server.rows(AuditEvent) == audit
    sdk.status()  # not refused


def test_neither_the_document_nor_the_route_table_nor_the_sdk_has_it(
    server: ServerHarness,
) -> None:
    assert PATH not in openapi_document()["paths"]
    assert PATH not in server.client.get("/openapi.json").json()["paths"]
    assert all(route.path != PATH and route.name != "unlock_secret" for route in ROUTES)
    assert not hasattr(SyncClient, "unlock_secret")
    assert "UnlockSecretResponse" not in openapi_document()["components"]["schemas"]


def test_a_login_draws_no_seed_and_logout_still_ends_the_session(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    sdk = server.login(customer_id, kind="mobile")
    token = sdk.token
    assert token is not None
    (row,) = server.rows(LoginSession, token_hash=hash_token(token))
    assert row.unlock_seed is None  # the retired column: kept in the schema, never written
    sdk.logout()
    (row,) = server.rows(LoginSession, token_hash=hash_token(token))
    assert row.ended_at is not None and row.unlock_seed is None

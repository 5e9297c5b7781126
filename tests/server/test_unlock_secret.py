"""``GET /api/v1/sessions/current/unlock-secret``: a live session's secret for security setting 2.

It is 256 bits, the same on every call of one session, different for every session, refused
once the session ended or expired, and never written where the server keeps its records: not
in the audit trail, not in a log line (SQL at DEBUG included), not in the database file.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest

from sync_client.api import SyncClient
from sync_client.errors import ServerRefused
from sync_server.credentials import hash_token
from sync_server.models import AuditEvent, LoginSession

from .harness import ServerHarness, refused

PATH = "/api/v1/sessions/current/unlock-secret"


def _get(server: ServerHarness, token: str | None) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = server.client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    assert set(body) == {"unlock_secret"}
    return body


def _refused(server: ServerHarness, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    refused(server.client.get(PATH, headers=headers), "unauthenticated")


@pytest.mark.parametrize("kind", ["pc", "mobile"])
def test_a_live_session_gets_a_256_bit_secret_stable_for_the_session(
    server: ServerHarness, kind: str
) -> None:
    sdk = server.login(server.add_customer(), kind=kind)
    text = _get(server, sdk.token)["unlock_secret"]

    assert isinstance(text, str) and len(text) == 43  # base64url, no padding
    assert base64.urlsafe_b64decode(text + "=") == sdk.unlock_secret()
    assert len(sdk.unlock_secret()) == 32
    assert sdk.unlock_secret() == sdk.unlock_secret()  # the same for the whole session


def test_every_session_has_its_own_secret(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    secrets = {
        server.login(customer_id, kind=kind).unlock_secret()
        for kind in ("pc", "pc", "mobile", "mobile")
    }
    secrets.add(server.login(server.add_customer()).unlock_secret())
    assert len(secrets) == 5


def test_logout_refuses_the_secret_and_wipes_its_seed(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    sdk = server.login(customer_id)
    other = server.login(customer_id)  # another session of the same customer lives on
    sdk.unlock_secret()
    token = sdk.token
    assert token is not None and other.token is not None
    (row,) = server.rows(LoginSession, token_hash=hash_token(token))
    assert row.unlock_seed is not None and len(row.unlock_seed) == 32

    sdk.logout()

    _refused(server, token)
    (row,) = server.rows(LoginSession, token_hash=hash_token(token))
    assert row.ended_at is not None and row.unlock_seed is None  # wiped, not merely unused
    (kept,) = server.rows(LoginSession, token_hash=hash_token(other.token))
    assert kept.unlock_seed is not None and len(other.unlock_secret()) == 32


def test_an_expired_session_is_refused(server: ServerHarness) -> None:
    sdk = server.login(server.add_customer())
    sdk.unlock_secret()
    server.clock.advance(server.settings.session_lifetime + timedelta(seconds=1))
    with pytest.raises(ServerRefused) as caught:
        sdk.unlock_secret()
    assert caught.value.code == "unauthenticated"


def test_no_or_an_unknown_token_is_refused(server: ServerHarness) -> None:
    _refused(server, None)
    _refused(server, "not-a-token")
    assert server.client.post(PATH).status_code == 405


def test_the_secret_is_in_no_audit_row_log_line_repr_or_database_file(
    server: ServerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy holds its loggers at WARNING unless told: at DEBUG it logs every statement's
    # parameters and every row it reads, the session row included.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    customer_id = server.add_customer()
    sdk = server.login(customer_id, kind="mobile")
    secret = sdk.unlock_secret()
    text = _get(server, sdk.token)["unlock_secret"]
    assert isinstance(text, str)
    rows = server.rows(LoginSession)
    sdk.logout()

    forms = [text, secret.hex(), repr(secret), base64.b64encode(secret).decode()]
    audit = [str(v) for e in server.audit() for v in e.model_dump().values() if v is not None]
    assert ("logout", "ok") in [(e.action, e.outcome) for e in server.rows(AuditEvent)]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "sqlalchemy.engine.Engine" in {r.name for r in caplog.records}
    for form in forms:
        assert all(form not in value for value in audit), "the secret is in the audit trail"
        assert form not in logged, "the secret is in the logs"
        assert all(form not in repr(row) for row in rows), "the secret is in a repr"
    assert all("unlock_seed" not in repr(row) for row in rows)
    # Negative control: the seed (useless without the token) does reach the SQL log, so this
    # check would have seen a secret stored as it is served.
    assert any(row.unlock_seed and repr(row.unlock_seed) in logged for row in rows)
    database = b"".join(p.read_bytes() for p in server.settings.data_dir.glob("certsync.db*"))
    assert secret not in database and text.encode() not in database


def test_the_sdk_refuses_a_malformed_answer(server: ServerHarness) -> None:
    """A secret of the wrong size is a broken server, not something to seal a key under."""
    import httpx2

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"unlock_secret": "c2hvcnQ"})

    sdk = SyncClient(httpx2.Client(transport=httpx2.MockTransport(answer), base_url="http://x"))
    with pytest.raises(ServerRefused) as caught:
        sdk.unlock_secret()
    assert caught.value.code == "bad_response"

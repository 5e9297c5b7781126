"""Helpers for the pc-client tests (the fixtures in conftest.py build them).

``Server`` is the real app (real CA, temporary SQLite, a clock the test can move) behind
Starlette's ``TestClient``, which is an ``httpx2.Client``: ``pc_client.cli.main(http=...)`` uses
it instead of the network. ``Pc`` is one computer (one store folder) running ``pc-client``
commands in process, answers piped as if standard input were not a terminal.
"""

from __future__ import annotations

import io
import json
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from starlette.testclient import TestClient

from pc_client.cli import main
from sync_client.keys import PrivateKey, generate_private_key
from sync_client.pfx import LoadedPfx, build_pfx, load_pfx
from sync_server import certificate_views, customers, enrollment, redownloads, revocation
from sync_server.host import Host
from sync_server.models import Certificate

CUSTOMER = "A123456789"
OTHER_CUSTOMER = "B123456780"
LOGIN_PASSWORD = "login-pass-123"
PFX_PASSWORD = "pfxpass1"
NEW_PFX_PASSWORD = "newpass22"
TEST_ITERATIONS = "1000"


class Clock:
    """The server's clock: real time plus an offset the test can move."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass
class Server:
    host: Host
    http: TestClient
    clock: Clock

    def add_customer(self, customer_id: str = CUSTOMER, password: str = LOGIN_PASSWORD) -> None:
        customers.create_customer(
            self.host, customer_id=customer_id, name="Test Customer", password=password,
            actor="staff:test",
        )  # fmt: skip

    def slip(self, customer_id: str = CUSTOMER) -> str:
        """A fresh enrollment code, as the branch counter hands it out."""
        return enrollment.issue_enrollment_code(self.host, customer_id, actor="staff:test").code

    def open_redownload(self, customer_id: str = CUSTOMER) -> None:
        redownloads.open_redownload(self.host, customer_id, actor="staff:test")

    def revoke(self, serial: int | str) -> None:
        revocation.revoke(self.host, str(serial), reason="key_compromise", actor="staff:test")

    def certificates(self, customer_id: str = CUSTOMER) -> list[Certificate]:
        return certificate_views.list_certificates(self.host, customer_id)

    def audit_actions(self, customer_id: str = CUSTOMER) -> list[tuple[str, str]]:
        from sync_server import audit

        with self.host.db.read() as session:
            events = audit.list_events(session, customer_id=customer_id, limit=1000)
        return [(e.action, e.outcome) for e in events]


@dataclass
class Run:
    code: int
    out: str
    err: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        value = self.data.get("error")
        return str(value) if value is not None else None


FileState = dict[str, tuple[bytes, int]]


class Pc:
    """One computer: a store folder, running ``pc-client`` in process against ``server``."""

    def __init__(
        self, home: Path, server: Server, capsys: pytest.CaptureFixture[str], name: str = "pc"
    ) -> None:
        self.home = home
        self.server = server
        self.capsys = capsys
        self.name = name
        self.environ = {"PC_CLIENT_PFX_ITERATIONS": TEST_ITERATIONS}

    def run(
        self,
        *args: str,
        input: str = "",
        json_output: bool = True,
        http: httpx2.Client | None = None,
        home: bool = True,
    ) -> Run:
        argv = [*(["--home", str(self.home)] if home else []), *(["--json"] if json_output else [])]
        self.capsys.readouterr()  # drop anything printed before
        code = main(
            [*argv, *args],
            http=self.server.http if http is None else http,
            stdin=io.StringIO(input),
            environ=self.environ,
        )
        captured = self.capsys.readouterr()
        data: dict[str, Any] = {}
        if json_output and captured.out.strip():
            data = json.loads(captured.out)  # exactly one JSON object, or this fails
        return Run(code, captured.out, captured.err, data)

    def ok(self, *args: str, input: str = "") -> dict[str, Any]:
        """Run a command that must succeed; its JSON answer."""
        result = self.run(*args, input=input)
        assert result.code == 0, result.err
        return result.data

    def login(self, customer_id: str = CUSTOMER, password: str = LOGIN_PASSWORD) -> dict[str, Any]:
        return self.ok("login", customer_id, input=f"{password}\n")

    def apply(
        self, password: str = PFX_PASSWORD, *, code: str | None = None, customer: str = CUSTOMER
    ) -> dict[str, Any]:
        slip = self.server.slip(customer) if code is None else code
        return self.ok(
            "apply", "--agree", "--security-setting", "2", "--key-type", "ec",
            input=f"{slip}\n{password}\n{password}\n",
        )  # fmt: skip

    def pfx_path(self, customer_id: str = CUSTOMER) -> Path:
        return self.home / f"{customer_id}.pfx"

    def open_pfx(self, password: str, customer_id: str = CUSTOMER) -> LoadedPfx:
        return load_pfx(self.pfx_path(customer_id).read_bytes(), password)

    def snapshot(self) -> FileState:
        """Every file in the store with its bytes and mode, to prove a refusal changed nothing."""
        if not self.home.exists():
            return {}
        return {
            str(p.relative_to(self.home)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(self.home.rglob("*"))
            if p.is_file()
        }


def write_pfx(
    path: Path, key: PrivateKey, cert: x509.Certificate, chain: list[x509.Certificate]
) -> Path:
    """``key``, ``cert`` and ``chain`` as a PFX at ``path`` (under ``PFX_PASSWORD``), made out
    to the certificate's CN."""
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(cn, str)
    path.write_bytes(
        build_pfx(
            customer_id=cn, key=key, cert=cert, chain=chain, password=PFX_PASSWORD,
            iterations=int(TEST_ITERATIONS),
        )
    )  # fmt: skip
    return path


def write_self_signed_pfx(path: Path, cn: str) -> Path:
    """A PFX at ``path``: a fresh EC key and a certificate for ``cn`` that it signed itself.

    Well-formed, valid for a day, and issued by no CA the server knows.
    """
    key = generate_private_key("ec")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return write_pfx(path, key, cert, [])


class DropResponse(httpx2.BaseTransport):
    """A network that delivers the request to the server, then loses the answer (once).

    A fake at the true external edge: the server really handles the request; only the reply
    on its way back to the PC is cut, the way a dropped connection would cut it.
    """

    def __init__(self, inner: httpx2.Client, path: str, *, deliver: bool = True) -> None:
        self.inner = inner
        self.path = path
        self.deliver = deliver
        self.dropped = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == self.path and self.dropped == 0:
            self.dropped += 1
            if self.deliver:
                self.inner.send(request).read()
            raise httpx2.ReadError("connection reset", request=request)
        response = self.inner.send(request)
        return httpx2.Response(
            response.status_code, headers=response.headers, content=response.read()
        )


def dropping_client(server: Server, path: str, *, deliver: bool = True) -> httpx2.Client:
    """An ``httpx2.Client`` to ``server`` that loses the first answer from ``path``."""
    return httpx2.Client(
        transport=DropResponse(server.http, path, deliver=deliver), base_url="http://testserver"
    )

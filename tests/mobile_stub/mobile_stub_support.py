"""The world the phone tests run in: the real server in process, a PC half, and a phone.

Nothing here imports ``pc_client``: a customer gets a certificate the way the PC would (key +
CSR on "the PC", ``apply`` through the SDK), and the PC half of pairing is
``sync_client.pairing.send_pfx``. The phone is ``mobile_stub.cli.main`` with Starlette's
``TestClient`` injected as its ``httpx2.Client``. The only fake is the clock.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography import x509
from starlette.testclient import TestClient

from mobile_stub.cli import main
from sync_client.api import SyncClient
from sync_client.keys import build_csr_pem, certificate_fingerprint, generate_private_key
from sync_client.pairing import Handoff, send_pfx
from sync_client.pfx import build_pfx
from sync_server.app import create_app
from sync_server.customers import create_customer
from sync_server.enrollment import issue_enrollment_code
from sync_server.host import Host, open_host
from sync_server.models import RelaySlot
from sync_server.settings import Settings

CUSTOMER_A = "A123456789"
CUSTOMER_B = "B123456780"
LOGIN_PASSWORD = "login-password-1"
PFX_PASSWORD = "pfx-pass-1"
FAST_PFX_ITERATIONS = 2048


class FakeClock:
    """The host's clock, moved by hand: ``advance(seconds=121)`` instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Customer:
    customer_id: str
    pfx_bytes: bytes = field(repr=False)
    cert: x509.Certificate
    pc: SyncClient

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.cert)


class World:
    """A real server in process; every request through its client is recorded."""

    def __init__(self, tmp_path: Path, clock: FakeClock) -> None:
        self.tmp_path = tmp_path
        self.clock = clock
        settings = Settings(
            data_dir=tmp_path / "srv", password_kdf_memory_kib=1024, password_kdf_iterations=1
        )
        self.host: Host = open_host(settings, clock=clock)
        self.http = TestClient(create_app(self.host))
        self.requests: list[httpx2.Request] = []
        self.http.event_hooks = {"request": [self.requests.append], "response": []}

    @property
    def db_files(self) -> list[Path]:
        base = self.tmp_path / "srv" / "certsync.db"
        return [p for p in (base, base.with_name(base.name + "-wal")) if p.exists()]

    def add_customer(self, customer_id: str, *, pfx_password: str = PFX_PASSWORD) -> Customer:
        """A customer with a fresh certificate, applied for from "the PC" through the SDK."""
        create_customer(
            self.host, customer_id=customer_id, name="Test", password=LOGIN_PASSWORD, actor="test"
        )
        slip = issue_enrollment_code(self.host, customer_id, actor="test")
        pc = SyncClient(self.http)
        pc.login(customer_id, LOGIN_PASSWORD, device_kind="pc")
        key = generate_private_key("ec")
        issued = pc.apply(
            enrollment_code=slip.code,
            csr_pem=build_csr_pem(key, customer_id),
            terms_accepted=True,
        )
        cert = issued.certificate.load()
        pfx_bytes = build_pfx(
            customer_id=customer_id,
            key=key,
            cert=cert,
            chain=issued.chain(),
            password=pfx_password,
            iterations=FAST_PFX_ITERATIONS,
        )
        return Customer(customer_id, pfx_bytes, cert, pc)

    def send(self, customer: Customer) -> Handoff:
        """The PC half of pairing."""
        return send_pfx(
            customer.pc,
            pfx_bytes=customer.pfx_bytes,
            customer_id=customer.customer_id,
            certificate_fingerprint=customer.fingerprint,
        )

    def slot_row(self, slot_id: str) -> RelaySlot | None:
        with self.host.db.read() as session:
            return session.get(RelaySlot, slot_id)

    def flip_stored_ciphertext(self, slot_id: str, index: int) -> None:
        """Change one byte of a slot's ciphertext in the server's database."""
        with self.host.db.write() as session:
            slot = session.get(RelaySlot, slot_id)
            assert slot is not None and slot.ciphertext is not None
            data = bytearray(slot.ciphertext)
            data[index] ^= 0x01
            slot.ciphertext = bytes(data)
            session.add(slot)

    def request_paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str
    unread_input: str

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.out)
        assert isinstance(data, dict)
        return data

    @property
    def code(self) -> str | None:
        """The error code of a failed run (from its one JSON object)."""
        return self.json.get("error") if self.rc else None


class Phone:
    """``mobile-stub`` with its own home, run in process against the world's server."""

    def __init__(
        self,
        world: World,
        home: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.world = world
        self.home = home
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    def run(
        self,
        *args: str,
        input: str = "",
        as_json: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> Result:
        """``mobile-stub --home HOME [--json] ARGS``; ``environ`` replaces the process's."""
        stdin = io.StringIO(input)
        self._monkeypatch.setattr(sys, "stdin", stdin)
        self._capsys.readouterr()
        argv = ["--home", str(self.home), *(["--json"] if as_json else []), *args]
        rc = main(argv, http=self.world.http, environ=environ)
        captured = self._capsys.readouterr()
        return Result(rc, captured.out, captured.err, stdin.read())

    def login(self, customer_id: str) -> Result:
        result = self.run("login", customer_id, input=LOGIN_PASSWORD + "\n")
        assert result.rc == 0, result.err
        return result

    def pair(self, payload: str, password: str = PFX_PASSWORD) -> Result:
        return self.run("pair", "--payload", payload, input=password + "\n")

    def keystore_snapshot(self) -> dict[str, bytes]:
        """Every file under the keystore folder, by name, with its bytes."""
        folder = self.home / "keystore"
        if not folder.exists():
            return {}
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

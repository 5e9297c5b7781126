"""Function 5 end to end: the real ``sync-server``, ``pc-client pair`` and ``mobile-stub pair``.

Everything runs as a customer would run it, as subprocesses on a loopback port: the PC applies
for a certificate, ``pc-client pair --qr-png`` waits in the background, the phone decodes the PNG
that the PC wrote (zxing-cpp), takes the certificate with the PFX password, and signs an order
the server accepts. Both sides use the same server URL spelling, as the phone checks that the
QR code names the server it is logged in to.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ServerProcess, console_script, running_server

from sync_client.qr import decode_qr_png, parse_pair_payload

pytestmark = pytest.mark.e2e

ITERATIONS = "1000"
PFX_PASSWORD = "pfxpass1"
TIMEOUT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("srv")) as running:
        yield running


@dataclass
class Customer:
    """A customer with a certificate on one PC (``pc_home``), and a phone home."""

    server: ServerProcess
    customer_id: str
    login_password: str
    pc_home: Path
    phone_home: Path

    def pc_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PC_CLIENT_TEST_PAUSE_AT", None)
        env.update(PC_CLIENT_HOME=str(self.pc_home), PC_CLIENT_PFX_ITERATIONS=ITERATIONS)
        return env

    def pc_argv(self, *args: str) -> list[str]:
        return [console_script("pc-client"), "--server", self.server.url, *args]

    def pc(self, *args: str, answers: str = "") -> dict[str, Any]:
        done = subprocess.run(
            self.pc_argv("--json", *args), input=answers, capture_output=True, text=True,
            env=self.pc_env(), timeout=TIMEOUT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert isinstance(data, dict)
        return data

    def pair_in_background(self, png: Path) -> subprocess.Popen[str]:
        """``pc-client pair --qr-png PNG`` as a person runs it (text output), not waited for."""
        answers = png.with_name("answers.txt")
        answers.write_text(PFX_PASSWORD + "\n")
        with answers.open() as stdin:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                self.pc_argv("pair", "--qr-png", str(png)), stdin=stdin, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env=self.pc_env(),
            )  # fmt: skip

    def phone(self, *args: str, answers: str = "") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MOBILE_STUB_HOME": str(self.phone_home)}
        return subprocess.run(
            [console_script("mobile-stub"), "--server", self.server.url, "--json", *args],
            input=answers, capture_output=True, text=True, env=env, timeout=TIMEOUT,
        )  # fmt: skip

    def audit_actions(self) -> list[tuple[str, str]]:
        events = self.server.admin_json("audit", "--customer", self.customer_id)["events"]
        return [(e["action"], e["outcome"]) for e in events]


def _enrolled(server: ServerProcess, tmp_path: Path, customer_id: str) -> Customer:
    added = server.admin_json("customer-add", customer_id, "--name", "E2E", "--generate-password")
    customer = Customer(
        server, customer_id, added["password"], tmp_path / "pc" / "BTS", tmp_path / "phone"
    )
    slip = server.admin_json("enrollment-code", customer_id)["enrollment_code"]
    customer.pc("login", customer_id, answers=f"{customer.login_password}\n")
    customer.pc("apply", answers=f"{slip}\ny\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n2\n")
    return customer


def _wait_for_png(png: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not png.exists():
        if process.poll() is not None:
            _, err = process.communicate(timeout=TIMEOUT)
            raise AssertionError(f"pc-client pair ended early ({process.returncode}): {err}")
        if time.monotonic() > deadline:
            raise AssertionError("pc-client pair never wrote its QR image")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[str]) -> None:
    """A test that failed half-way must not leave ``pc-client`` waiting for two minutes."""
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(ValueError):  # its pipes were already read and closed
        process.communicate(timeout=10)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise
    return process.returncode, out, err


def test_the_phone_scans_the_pcs_png_and_signs_an_order(
    server: ServerProcess, tmp_path: Path
) -> None:
    customer = _enrolled(server, tmp_path, "A123456789")
    pfx = customer.pc_home / "A123456789.pfx"
    png = tmp_path / "pair.png"
    process = customer.pair_in_background(png)
    try:
        _wait_for_png(png, process)
        payload = decode_qr_png(png)  # our own look, before the phone's
        key_text = payload.split("#k=")[1]
        assert parse_pair_payload(payload).server_url == server.url

        login = customer.phone("login", "A123456789", answers=f"{customer.login_password}\n")
        assert login.returncode == 0, login.stderr
        paired = customer.phone("pair", "--qr-png", str(png), answers=f"{PFX_PASSWORD}\n")
        assert paired.returncode == 0, paired.stderr
    except BaseException:
        _stop(process)
        raise
    code, out, err = _finish(process)

    assert code == 0, err
    assert err == ""
    assert "The certificate reached the phone." in out.splitlines()
    assert not png.exists()  # the image held the key: gone once the slot ended
    received = json.loads(paired.stdout)
    status = customer.pc("status")
    assert received["fingerprint_sha256"] == status["host"]["fingerprint_sha256"]
    assert (customer.phone_home / "keystore" / "A123456789.pfx").read_bytes() == pfx.read_bytes()

    ordered = customer.phone(
        "order", "--symbol", "2330", "--side", "buy", "--qty", "1000", "--price", "612.5",
        answers=f"{PFX_PASSWORD}\n",
    )  # fmt: skip
    assert ordered.returncode == 0, ordered.stderr
    assert json.loads(ordered.stdout)["serial"] == status["host"]["serial"]

    actions = customer.audit_actions()
    for expected in ("relay_open", "relay_upload", "relay_claim", "order"):
        assert (expected, "ok") in actions, actions
    # The key was in the QR code only: not in any output, nor in the server's log, whose
    # access lines show every request path (so the check below looks where a leak would be).
    server_log = server.log()
    assert "/api/v1/relay/slots/" in server_log and "/claim" in server_log
    for text in (out, err, login.stdout, paired.stdout, paired.stderr, server_log):
        assert key_text not in text
    assert PFX_PASSWORD not in server_log and customer.login_password not in server_log


def test_ctrl_c_while_waiting_cancels_the_qr_code(server: ServerProcess, tmp_path: Path) -> None:
    customer = _enrolled(server, tmp_path, "B123456780")
    png = tmp_path / "pair.png"
    process = customer.pair_in_background(png)
    try:
        _wait_for_png(png, process)
        payload = decode_qr_png(png)
        time.sleep(0.5)  # let it settle into its long-poll
        process.send_signal(signal.SIGINT)
    except BaseException:
        _stop(process)
        raise
    code, _out, err = _finish(process)

    assert code == 130
    assert err.count("\n") == 1 and err.endswith("[interrupted]\n"), err
    assert not png.exists()
    assert ("relay_cancel", "ok") in customer.audit_actions()

    # The QR code no longer works for the phone.
    login = customer.phone("login", "B123456780", answers=f"{customer.login_password}\n")
    assert login.returncode == 0, login.stderr
    refused = customer.phone("pair", "--payload", payload, answers=f"{PFX_PASSWORD}\n")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"] == "slot_cancelled"

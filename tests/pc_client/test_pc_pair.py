"""``pc-client pair`` (function 5) in process: the real app, a phone made of the SDK.

The PC is ``pc_client.cli.main`` with the ``TestClient`` injected; the phone runs in a thread
with its own ``TestClient`` on the same app, waits for the PNG the PC writes, decodes it with
zxing-cpp (``decode_qr_png``) and claims the slot with ``receive_pfx``, as a phone that scanned
the screen would. The only stand-ins: the server's clock (moved instead of sleeping) and, for
Ctrl-C, a transport that raises ``KeyboardInterrupt`` where a blocked read would get it.
"""

from __future__ import annotations

import base64
import json
import logging
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from pc_harness import CUSTOMER, LOGIN_PASSWORD, PFX_PASSWORD, Pc, Server
from sqlmodel import select
from starlette.testclient import TestClient

from pc_client.app import Result
from pc_client.commands.pair import (
    EXPIRY_GRACE,
    QR_PNG_NAME,
    Countdown,
    PayloadText,
    format_left,
    measure_countdown,
)
from sync_client.api import SyncClient
from sync_client.errors import ServerRefused
from sync_client.pairing import receive_pfx
from sync_client.qr import decode_qr_png, parse_pair_payload
from sync_server.models import RelaySlot

WRONG_PASSWORD = "notmypass9"


# -- the world ---------------------------------------------------------------------------------


@dataclass
class Wire:
    """Every request either side sent: method, full URL, headers and body."""

    requests: list[httpx2.Request] = field(default_factory=list)

    def hook(self, request: httpx2.Request) -> None:
        request.read()
        self.requests.append(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def assert_never_carried(self, secret_texts: list[str], key: bytes) -> None:
        for request in self.requests:
            url = str(request.url)
            headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
            for text in secret_texts:
                assert text not in url, url
                assert text not in headers
                assert text.encode() not in request.content
            assert key not in request.content


def _listen(client: httpx2.Client, wire: Wire) -> None:
    client.event_hooks = {"request": [wire.hook], "response": []}


@dataclass
class PhoneRun:
    """What the phone saw: the PNG's mode and text, then the PFX it received (or an error)."""

    png_mode: int | None = None
    scanned: str | None = None
    pfx_bytes: bytes | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def _wait_for_file(path: Path, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


def phone_scans(server: Server, png: Path, wire: Wire | None = None) -> PhoneRun:
    """Start a phone that logs in, waits for ``png``, scans it and takes the certificate."""
    run = PhoneRun()

    def scan() -> None:
        try:
            http = TestClient(server.http.app)
            if wire is not None:
                _listen(http, wire)
            phone = SyncClient(http)
            phone.login(CUSTOMER, LOGIN_PASSWORD, device_kind="mobile")
            _wait_for_file(png)
            run.png_mode = stat.S_IMODE(png.stat().st_mode)
            run.scanned = decode_qr_png(png)
            run.pfx_bytes = receive_pfx(phone, parse_pair_payload(run.scanned))
        except BaseException as exc:
            run.error = exc

    run.thread = threading.Thread(target=scan, daemon=True)
    run.thread.start()
    return run


def after_png(png: Path, action: Callable[[], None]) -> threading.Thread:
    """Run ``action()`` in a thread once the PC has written ``png``."""

    def go() -> None:
        _wait_for_file(png)
        action()

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def slots(server: Server) -> list[RelaySlot]:
    with server.host.db.read() as session:
        return list(session.exec(select(RelaySlot)).all())


def key_texts(payload: str) -> tuple[list[str], bytes]:
    """The relay key in every spelling that could leak: base64url, base64, hex; and raw."""
    key = parse_pair_payload(payload).key
    return [
        payload.split("#k=")[1],
        base64.b64encode(key).decode(),
        key.hex(),
    ], key


# -- the whole handoff -------------------------------------------------------------------------


def test_the_phone_takes_the_certificate_and_the_key_never_travels(
    enrolled: Pc, server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wire = Wire()
    _listen(server.http, wire)
    png = tmp_path / "shown" / "pair.png"
    png.parent.mkdir()
    phone = phone_scans(server, png, wire)

    run = enrolled.run("pair", "--qr-png", str(png), input=f"{PFX_PASSWORD}\n")
    phone.join()

    assert run.code == 0, run.err
    data = run.data
    assert data["outcome"] == "claimed"
    assert "error" not in data
    # The phone got the file exactly as the PC stores it: still under the PFX password.
    assert phone.pfx_bytes == enrolled.pfx_path().read_bytes()
    # The PNG decodes (zxing-cpp, not the encoder) to the payload the JSON reports, was
    # readable by its owner only, and is gone now that the slot has ended.
    assert phone.scanned == data["payload"]
    assert phone.png_mode == 0o600
    assert data["qr_png"] == str(png) and data["qr_png_removed"] is True
    assert not png.exists()
    payload = parse_pair_payload(data["payload"])
    assert payload.slot_id == data["slot_id"]
    assert payload.server_url == "http://testserver"
    assert data["serial"] == str(enrolled.open_pfx(PFX_PASSWORD).serial)
    assert datetime.fromisoformat(data["expires_at"]) > datetime.now(UTC)

    [slot] = slots(server)
    assert (slot.id, slot.state, slot.ciphertext) == (data["slot_id"], "claimed", None)
    assert ("relay_open", "ok") in server.audit_actions()
    assert ("relay_claim", "ok") in server.audit_actions()

    # The relay key went nowhere but the QR code and the --json payload field.
    texts, key = key_texts(data["payload"])
    assert "/relay/slots" in "".join(wire.paths())
    wire.assert_never_carried(texts, key)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "/relay/slots/" in logged  # httpx2 did log the requests (so the check means something)
    for text in texts:
        assert text not in logged
        assert text not in run.err
    assert run.err == ""


def test_what_the_customer_reads(enrolled: Pc, server: Server, tmp_path: Path) -> None:
    png = tmp_path / "pair.png"
    phone = phone_scans(server, png)

    run = enrolled.run("pair", "--qr-png", str(png), input=f"{PFX_PASSWORD}\n", json_output=False)
    phone.join()

    assert run.code == 0, run.err
    assert run.err == ""
    lines = run.out.splitlines()
    assert lines[0].startswith(f"Upload to phone for {CUSTOMER}: certificate ")
    assert "log in to the trading app as A123456789" in lines[1]
    assert any("\u2588" in line or "\u2584" in line for line in lines)  # the QR code
    assert f"The QR code is also in {png} (deleted when pairing ends)." in lines
    assert any(line.startswith("Waiting for the phone until ") for line in lines)
    assert lines[-2:] == [
        "The certificate reached the phone.",
        "The phone asks for your PFX password to finish.",
    ]
    # The key is in the QR code's modules only, never as text.
    assert phone.scanned is not None
    for text in key_texts(phone.scanned)[0]:
        assert text not in run.out
    assert "#k=" not in run.out


def test_the_default_png_is_in_the_store_folder(enrolled: Pc, server: Server) -> None:
    png = enrolled.home / QR_PNG_NAME
    phone = phone_scans(server, png)

    data = enrolled.ok("pair", input=f"{PFX_PASSWORD}\n")
    phone.join()

    assert data["qr_png"] == str(png)
    assert phone.png_mode == 0o600
    assert not png.exists()


# -- refusals before anything reaches the relay ------------------------------------------------


def test_a_wrong_password_sends_nothing(enrolled: Pc, server: Server, tmp_path: Path) -> None:
    wire = Wire()
    _listen(server.http, wire)
    png = tmp_path / "pair.png"
    before = enrolled.snapshot()

    run = enrolled.run("pair", "--qr-png", str(png), input=f"{WRONG_PASSWORD}\n")

    assert run.code == 1
    assert run.error == "wrong_password"
    assert run.err.count("\n") == 1 and run.err.endswith("[wrong_password]\n")
    assert WRONG_PASSWORD not in run.err + run.out
    assert not any("/relay" in path for path in wire.paths())
    assert slots(server) == []
    assert not png.exists()
    assert enrolled.snapshot() == before


def test_a_certificate_the_host_replaced_is_refused(
    enrolled: Pc, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The customer lost the old certificate and got a new one on another PC.
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    other = Pc(tmp_path / "other" / "BTS", server, capsys, name="other")
    other.login()
    other.apply()
    enrolled.login()

    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n")

    assert run.code == 1
    assert run.error == "certificate_mismatch"
    assert "Certificate mismatch." in run.data["message"]
    assert slots(server) == []
    assert not (enrolled.home / QR_PNG_NAME).exists()


def test_a_revoked_certificate_is_refused_even_when_it_matches(
    enrolled: Pc, server: Server
) -> None:
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)

    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n")

    assert run.error == "certificate_mismatch"
    assert "revoked" in run.data["message"]
    assert slots(server) == []


def test_no_certificate_on_this_pc_is_refused(pc: Pc, server: Server, customer: str) -> None:
    pc.login()

    run = pc.run("pair", input=f"{PFX_PASSWORD}\n")

    assert run.error == "certificate_mismatch"
    assert slots(server) == []


def test_a_png_path_that_cannot_be_written_opens_no_slot(
    enrolled: Pc, server: Server, tmp_path: Path
) -> None:
    missing = enrolled.run("pair", "--qr-png", str(tmp_path / "nope" / "p.png"),
                           input=f"{PFX_PASSWORD}\n")  # fmt: skip
    folder = enrolled.run("pair", "--qr-png", str(tmp_path), input=f"{PFX_PASSWORD}\n")

    assert missing.error == "cannot_write"
    assert folder.code == 2  # click refuses a folder for a file option: a usage error
    assert slots(server) == []


def test_timeout_with_no_wait_is_a_usage_error(enrolled: Pc, server: Server) -> None:
    run = enrolled.run("pair", "--no-wait", "--timeout", "5", input=f"{PFX_PASSWORD}\n")

    assert run.code == 2
    assert slots(server) == []


# -- slots that end without the phone ----------------------------------------------------------


def test_no_wait_leaves_a_working_qr_code_that_then_expires(enrolled: Pc, server: Server) -> None:
    run = enrolled.run("pair", "--no-wait", input=f"{PFX_PASSWORD}\n")

    assert run.code == 0, run.err
    data = run.data
    assert data["outcome"] == "open" and data["qr_png_removed"] is False
    png = Path(data["qr_png"])
    assert png == enrolled.home / QR_PNG_NAME
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert decode_qr_png(png) == data["payload"]
    [slot] = slots(server)
    assert (slot.id, slot.state) == (data["slot_id"], "open")
    assert slot.ciphertext is not None

    server.clock.advance(timedelta(seconds=121))
    phone = SyncClient(TestClient(server.http.app))
    phone.login(CUSTOMER, LOGIN_PASSWORD, device_kind="mobile")
    with pytest.raises(ServerRefused) as refused:
        receive_pfx(phone, parse_pair_payload(data["payload"]))

    assert refused.value.code == "slot_expired"
    [slot] = slots(server)
    assert (slot.state, slot.ciphertext) == ("expired", None)


def test_no_wait_in_text_shows_the_qr_code_but_not_the_key(enrolled: Pc, server: Server) -> None:
    run = enrolled.run("pair", "--no-wait", input=f"{PFX_PASSWORD}\n", json_output=False)

    assert run.code == 0, run.err
    assert "The QR code works once, until " in run.out
    png = enrolled.home / QR_PNG_NAME
    assert f"The QR code is also in {png}." in run.out
    payload = decode_qr_png(png)
    for text in key_texts(payload)[0]:
        assert text not in run.out + run.err


def test_the_pc_reports_an_expired_qr_code_and_what_to_do(enrolled: Pc, server: Server) -> None:
    png = enrolled.home / QR_PNG_NAME
    mover = after_png(png, lambda: server.clock.advance(timedelta(seconds=121)))

    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n")
    mover.join(timeout=10)

    assert run.code == 1
    assert run.error == "slot_expired"
    assert run.data["outcome"] == "expired"
    assert "pc-client pair" in run.data["message"]
    assert f"logged in as {CUSTOMER}" in run.data["message"]
    assert run.err.count("\n") == 1 and run.err.endswith("[slot_expired]\n")
    assert not png.exists() and run.data["qr_png_removed"] is True
    [slot] = slots(server)
    assert (slot.state, slot.ciphertext) == ("expired", None)


def test_timeout_cancels_the_qr_code(enrolled: Pc, server: Server) -> None:
    started = time.monotonic()
    run = enrolled.run("pair", "--timeout", "0.5", input=f"{PFX_PASSWORD}\n")

    assert time.monotonic() - started < 10
    assert run.code == 1
    assert run.error == "pair_timeout"
    assert run.data["outcome"] == "cancelled"
    assert not (enrolled.home / QR_PNG_NAME).exists()
    [slot] = slots(server)
    assert (slot.state, slot.ciphertext) == ("cancelled", None)
    assert ("relay_cancel", "ok") in server.audit_actions()


class FailWhileWaiting(httpx2.BaseTransport):
    """While ``pc-client`` sits in its long-poll, ``failure`` strikes (once): the user presses
    Ctrl-C, or the network goes away."""

    def __init__(self, inner: httpx2.Client, failure: BaseException) -> None:
        self.inner = inner
        self.failure: BaseException | None = failure

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/events") and self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        response = self.inner.send(request)
        return httpx2.Response(
            response.status_code, headers=response.headers, content=response.read()
        )


def _failing(server: Server, failure: BaseException) -> httpx2.Client:
    transport = FailWhileWaiting(server.http, failure)
    return httpx2.Client(transport=transport, base_url="http://testserver")


def test_ctrl_c_cancels_the_qr_code_and_exits_130(enrolled: Pc, server: Server) -> None:
    http = _failing(server, KeyboardInterrupt())

    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n", http=http)

    assert run.code == 130
    assert run.error == "interrupted"
    assert run.err.count("\n") == 1 and run.err.endswith("[interrupted]\n")
    assert not (enrolled.home / QR_PNG_NAME).exists()
    [slot] = slots(server)
    assert (slot.state, slot.ciphertext) == ("cancelled", None)


def test_a_network_failure_while_waiting_cancels_and_cleans_up(
    enrolled: Pc, server: Server
) -> None:
    http = _failing(server, httpx2.ConnectError("network is unreachable"))

    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n", http=http)

    assert run.code == 1
    assert run.error == "server_unreachable"
    assert run.err.count("\n") == 1
    assert not (enrolled.home / QR_PNG_NAME).exists()
    [slot] = slots(server)
    assert (slot.state, slot.ciphertext) == ("cancelled", None)


def test_a_slot_cancelled_elsewhere_is_reported(enrolled: Pc, server: Server) -> None:
    png = enrolled.home / QR_PNG_NAME

    def cancel() -> None:
        [slot] = slots(server)
        other = SyncClient(TestClient(server.http.app))
        other.login(CUSTOMER, LOGIN_PASSWORD, device_kind="pc")
        other.cancel_slot(slot.id)

    canceller = after_png(png, cancel)
    run = enrolled.run("pair", input=f"{PFX_PASSWORD}\n")
    canceller.join(timeout=10)

    assert run.code == 1
    assert run.error == "slot_cancelled"
    assert run.data["outcome"] == "cancelled"


# -- the countdown, as pure rules --------------------------------------------------------------


def test_the_countdown_uses_the_servers_clock_not_the_pcs() -> None:
    server_now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    countdown = measure_countdown(
        expires_at=server_now + timedelta(seconds=120), server_now=server_now, started=1000.0
    )

    assert countdown.left(1000.0) == 120
    assert countdown.left(1090.5) == 29.5
    assert countdown.left(2000.0) == 0
    assert countdown.deadline(None) == 1000.0 + 120 + EXPIRY_GRACE
    assert countdown.deadline(10) == 1010.0
    assert countdown.deadline(10_000) == 1000.0 + 120 + EXPIRY_GRACE
    # A slot already past its time (a slow network): wait only the grace, for "expired".
    assert Countdown(1000.0, -3.0).deadline(None) == 1000.0 + EXPIRY_GRACE


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(120, "2:00"), (119.2, "2:00"), (61, "1:01"), (9.01, "0:10"), (0.2, "0:01"), (0, "0:00"),
     (-5, "0:00")],
)  # fmt: skip
def test_time_left_is_minutes_and_seconds_rounded_up(seconds: float, shown: str) -> None:
    assert format_left(seconds) == shown


def test_the_payload_in_a_result_prints_as_json_but_hides_from_repr() -> None:
    text = "http://testserver/pair/AAAAAAAAAAAAAAAAAAAAAA#k=" + "A" * 43
    data = {"payload": PayloadText(text)}

    assert json.loads(json.dumps(data)) == {"payload": text}
    assert "#k=" not in repr(data) and "#k=" not in str(data)
    assert "#k=" not in repr(Result(data))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_terminal_qr_code_scans_on_either_terminal_theme(
    enrolled: Pc, server: Server, theme: str
) -> None:
    """--qr-theme light draws the dark modules (dark text on a light terminal), dark the light
    ones: either way the printed code matches the one in the PNG."""
    from sync_client.qr import render_qr_terminal

    run = enrolled.run(
        "pair", "--no-wait", "--qr-theme", theme, input=f"{PFX_PASSWORD}\n", json_output=False
    )
    assert run.code == 0, run.err
    payload = decode_qr_png(enrolled.home / QR_PNG_NAME)
    assert render_qr_terminal(payload, light_ink=theme == "dark") in run.out
    assert render_qr_terminal(payload, light_ink=theme != "dark") not in run.out

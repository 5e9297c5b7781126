"""``pc-client`` and the network: the CA pinned at first login, causes in words, and the
status when the host cannot be reached.

Every server here is the real app in process (``TestClient``); "another server with another
CA" is a second real app that the same PC talks to under the same address, as a server that
was swapped would look. The unreachable ones are a closed loopback port and a name that cannot
resolve (``.invalid`` never does); the TLS one is in ``tests/server/test_serve_tls.py``.
"""

from __future__ import annotations

import socket
import stat
import threading
from collections.abc import Callable, Iterator

import httpx2
import pytest
from e2e_support import free_port
from pc_harness import CUSTOMER, LOGIN_PASSWORD, Pc, Server

from sync_client.api import Cause, SyncClient, transport_cause
from sync_client.errors import ServerUnreachable
from sync_client.i18n import Language, use_language
from sync_client.pinning import read_pins, show_fingerprint

PINS = "ca_pins.json"


def closed_port_client() -> httpx2.Client:
    """A client for a loopback port where nothing listens."""
    return httpx2.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=5)


# -- pinning --------------------------------------------------------------------------------


def test_first_login_pins_the_ca_and_shows_its_fingerprint(pc: Pc, customer: str) -> None:
    data = pc.login()
    expected = show_fingerprint(pc.server.host.ca.fingerprint_sha256)
    assert data["ca_fingerprint"] == expected
    assert data["ca_pin"] == "pinned"
    pin_file = pc.home / PINS
    assert stat.S_IMODE(pin_file.stat().st_mode) == 0o600
    assert list(read_pins(pin_file).values()) == [pc.server.host.ca.fingerprint_sha256]

    text = pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False)
    assert text.code == 0
    assert expected not in text.out  # the same CA again: nothing to compare any more

    # In words, on the first login of another computer: the fingerprint and the slip.
    other = Pc(pc.home.parent / "other", pc.server, pc.capsys)
    with use_language("en"):
        shown = other.run(
            "--lang", "en", "login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False
        )
    assert shown.code == 0
    assert expected in shown.out and "enrollment slip" in shown.out


def test_a_refused_login_pins_nothing(pc: Pc, customer: str) -> None:
    result = pc.run("login", CUSTOMER, input="wrong-password\n")
    assert result.error == "login_failed"
    assert not (pc.home / PINS).exists()


def test_a_server_with_another_ca_is_refused_and_the_store_is_unchanged(
    enrolled: Pc, make_server: Callable[..., Server]
) -> None:
    impostor = make_server()
    assert impostor.host.ca.fingerprint_sha256 != enrolled.server.host.ca.fingerprint_sha256
    impostor.add_customer()
    swapped = Pc(enrolled.home, impostor, enrolled.capsys)
    before = swapped.snapshot()

    for args, stdin in (
        (("status",), ""),
        (("login", CUSTOMER), f"{LOGIN_PASSWORD}\n"),
    ):
        result = swapped.run(*args, input=stdin)
        assert result.code == 1, (args, result.err)
        assert result.error == "ca_changed", (args, result.err)
        assert result.err.count("\n") == 1
        assert swapped.snapshot() == before, args
    # Nothing reached the impostor: no password, no token.
    assert not any("login" in action for action, _ in impostor.audit_actions())

    # The page and the command line say it in words, naming both fingerprints.
    with use_language("en"):
        words = swapped.run("--lang", "en", "status", json_output=False)
    assert "certificate authority is not the one this computer first enrolled with" in words.err
    assert show_fingerprint(impostor.host.ca.fingerprint_sha256) in words.err

    # The original server still works.
    assert enrolled.ok("status")["verdict"] == "match"
    # Logging out ends the session here without telling the impostor (the token stays home).
    assert swapped.ok("logout") == {
        "customer_id": CUSTOMER, "logged_out": True, "server_told": False
    }  # fmt: skip


def test_accept_new_ca_repins_after_the_brokerage_confirmed(
    enrolled: Pc, make_server: Callable[..., Server]
) -> None:
    renewed = make_server()
    renewed.add_customer()
    moved = Pc(enrolled.home, renewed, enrolled.capsys)
    data = moved.ok("login", CUSTOMER, "--accept-new-ca", input=f"{LOGIN_PASSWORD}\n")
    assert data["ca_pin"] == "repinned"
    assert data["ca_fingerprint"] == show_fingerprint(renewed.host.ca.fingerprint_sha256)
    assert list(read_pins(enrolled.home / PINS).values()) == [renewed.host.ca.fingerprint_sha256]
    assert moved.ok("status")["customer_id"] == CUSTOMER
    # And now the old one is the stranger.
    assert enrolled.run("status").error == "ca_changed"


# -- causes in words --------------------------------------------------------------------------


def _unreachable(url: str, *, timeout: float = 5) -> ServerUnreachable:
    # Not ``SyncClient.connect``: its read timeout waits out the relay's long-poll (45 s).
    with (
        SyncClient(httpx2.Client(base_url=url, timeout=timeout)) as client,
        pytest.raises(ServerUnreachable) as lost,
    ):
        client.policy()
    return lost.value


def test_a_closed_port_is_a_refused_connection() -> None:
    cases: tuple[tuple[Language, str], ...] = (
        ("en", "the connection was refused"),
        ("zh-TW", "主機拒絕連線"),
    )
    for language, words in cases:
        with use_language(language):
            lost = _unreachable(f"http://127.0.0.1:{free_port()}")
        assert lost.details == {"cause": Cause.REFUSED}
        assert words in lost.message
        assert "ConnectError" not in lost.message


def test_an_unresolvable_name_is_an_address_that_cannot_be_found() -> None:
    with use_language("en"):
        lost = _unreachable("http://nonexistent.invalid")
    assert lost.details == {"cause": Cause.NOT_FOUND}
    assert "the server's address could not be found" in lost.message
    assert "Error" not in lost.message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_a_server_that_never_answers_did_not_answer(silent_port: int) -> None:
    with use_language("en"):
        lost = _unreachable(f"http://127.0.0.1:{silent_port}", timeout=0.5)
    assert lost.details == {"cause": Cause.NO_ANSWER}
    assert "the server did not answer" in lost.message


def test_transport_cause_reads_the_chain_not_the_class_name() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise httpx2.ConnectError("[Errno 111] Connection refused") from inner
    except httpx2.ConnectError as exc:
        assert transport_cause(exc) is Cause.REFUSED
    assert transport_cause(httpx2.UnsupportedProtocol("ftp")) is Cause.BAD_ADDRESS
    assert transport_cause(httpx2.ReadTimeout("slow")) is Cause.NO_ANSWER
    assert transport_cause(httpx2.RemoteProtocolError("junk")) is Cause.DROPPED


# -- status without the host ------------------------------------------------------------------


def test_status_without_the_host_still_shows_this_computers_certificate(enrolled: Pc) -> None:
    reachable = enrolled.ok("status")
    before = enrolled.snapshot()
    offline = closed_port_client()

    result = enrolled.run("status", http=offline)
    assert result.code == 1
    data = result.data
    assert data["error"] == "server_unreachable"
    assert data["details"] == {"cause": "connection_refused"}
    assert data["host"] is None and data["verdict"] == "unknown" and data["usable"] is False
    assert data["client"] == reachable["client"]  # this computer's part, as when online
    assert result.err.count("\n") == 1 and result.err.rstrip().endswith("[server_unreachable]")
    assert enrolled.snapshot() == before

    with use_language("en"):
        text = enrolled.run("--lang", "en", "status", http=offline, json_output=False)
    assert text.code == 1
    assert reachable["client"]["serial"] in text.out  # the table wraps the hex beside it
    assert "unknown (the host did not" in text.out
    assert "the connection was refused" in text.out
    with use_language("zh-TW"):
        zh = enrolled.run("--lang", "zh-TW", "status", http=offline, json_output=False)
    assert "主機資料庫目前的憑證資訊" in zh.out and "用戶端的憑證資訊" in zh.out
    assert "無法取得（主機未回應）" in zh.out
    offline.close()


def test_status_without_the_host_and_without_a_login_says_log_in(pc: Pc) -> None:
    offline = closed_port_client()
    assert pc.run("status", http=offline).error == "not_logged_in"
    offline.close()

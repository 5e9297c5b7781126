"""One spelling of "which server" (``sync_client.origin``), and the phone's rule built on it:
a QR code for another origin is refused before anything is sent; the same server spelled
another way (case, default port) is accepted."""

from __future__ import annotations

import httpx2
import pytest
from server.harness import PASSWORD, ServerHarness

from sync_client.api import SyncClient
from sync_client.errors import InvalidInput, QrOtherServer
from sync_client.origin import origin_of, same_origin
from sync_client.pairing import receive_pfx, same_server, send_pfx
from sync_client.qr import PairPayload, parse_pair_payload


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://broker.example", "https://broker.example"),
        ("HTTPS://Broker.EXAMPLE:443/certsync/", "https://broker.example"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("https://broker.example:80", "https://broker.example:80"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://[::1]:80", "http://[::1]"),
        ("https://證券.example", "https://xn--zcr140l.example"),
        ("https://XN--ZCR140L.example", "https://xn--zcr140l.example"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "",
        "broker.example",
        "ftp://broker.example",
        "https://",
        "https://broker.example:0",
        "https://broker.example:65536",
        "https://broker.example:port",
        "https://[::1",
        "https://broker .example",
        "https://broker.example\n",
        "https://xn--a.example",
    ],
)
def test_urls_without_an_origin_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        origin_of(url)
    assert refused.value.code == "invalid_input"
    assert not same_origin(url, url)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://testserver", "HTTP://TestServer:80", True),
        ("https://broker.example", "https://broker.example:443", True),
        ("https://broker.example", "http://broker.example", False),
        ("https://broker.example", "https://broker.example:8443", False),
        ("https://broker.example", "https://broker.example.evil.example", False),
        ("http://127.0.0.1:8000", "http://localhost:8000", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same
    assert same_server(a, b) is same


def test_same_server_also_compares_the_path() -> None:
    assert same_origin("https://b.example/certsync", "https://b.example/other")
    assert not same_server("https://b.example/certsync", "https://b.example/other")
    assert same_server("https://b.example/certsync/", "https://B.example:443/certsync")


def _sent(server: ServerHarness) -> tuple[str, SyncClient, str]:
    """A customer's PC fills a slot (the PFX stand-in is opaque to the relay); the QR text,
    the phone's client on the same server, and the bytes sent."""
    enrolled = server.enroll()
    handoff = send_pfx(
        enrolled.sdk,
        pfx_bytes=b"pfx stand-in",
        customer_id=enrolled.customer_id,
        certificate_fingerprint=enrolled.issued.certificate.fingerprint_sha256,
    )
    phone = server.sdk()
    phone.login(enrolled.customer_id, PASSWORD, device_kind="mobile")
    return handoff.payload, phone, enrolled.customer_id


@pytest.mark.parametrize(
    "foreign",
    ["http://evil.example", "https://testserver", "http://testserver:8080"],
)
def test_a_qr_code_for_another_origin_is_refused_before_any_request(
    server: ServerHarness, foreign: str
) -> None:
    text, phone, customer_id = _sent(server)
    real = parse_pair_payload(text)
    sent: list[httpx2.Request] = []
    server.client.event_hooks = {"request": [sent.append], "response": []}

    with pytest.raises(QrOtherServer) as refused:
        receive_pfx(
            phone,
            PairPayload(server_url=foreign, slot_id=real.slot_id, key=real.key),
            customer_id=customer_id,
        )

    assert refused.value.code == "wrong_server"
    assert sent == []
    # Nothing changed: the real code still works.
    assert receive_pfx(phone, real, customer_id=customer_id) == b"pfx stand-in"


@pytest.mark.parametrize("spelling", ["HTTP://TestServer:80", "http://TESTSERVER"])
def test_the_same_origin_spelled_otherwise_is_accepted(
    server: ServerHarness, spelling: str
) -> None:
    text, phone, customer_id = _sent(server)
    real = parse_pair_payload(text)
    assert real.server_url == "http://testserver"
    respelled = PairPayload(server_url=spelling, slot_id=real.slot_id, key=real.key)

    assert receive_pfx(phone, respelled, customer_id=customer_id) == b"pfx stand-in"

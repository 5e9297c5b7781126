"""Trust on first use: the CA a device first logged in with is the only one it trusts after.

TLS alone says that the server holds a certificate some trusted authority signed for its name;
it does not say that it is the brokerage's CertSync, with the CA that issues the customer's
certificates. So the first time a device logs in to a server it records the SHA-256
fingerprint of that server's issuing CA (the first certificate of ``GET /api/v1/ca``) in its
store, ``ca_pins.json`` (0600, written atomically), and shows it to the customer as
``AB:CD:…`` — the format the enrollment slip prints it in, so the two can be compared. On
every later connection to that server the CA must be the pinned one; another is refused
(``CaChanged``) before any password or token is sent, and the pin file is left as it was. A
CA that really changed (the brokerage says so) is accepted with ``login --accept-new-ca``.

The rule is ``decide_pin``, a pure function over the pins, the server and the fingerprint;
``check_server_ca`` does the I/O around it. The pins are keyed by the server's address as the
clients use it (``sync_client.server_url``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.api import SyncClient
from sync_client.errors import CaChanged, ClientCode, InvalidInput, ServerRefused
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import msg

PIN_FILE_NAME = "ca_pins.json"
MAX_PIN_FILE_BYTES = 256 * 1024
_HEX = frozenset("0123456789abcdef")


class PinOutcome(StrEnum):
    PINNED = "pinned"  # first use: the CA was recorded now
    SAME = "same"  # the pinned CA, as expected
    REPINNED = "repinned"  # another CA, accepted on the customer's word (--accept-new-ca)


@dataclass(frozen=True)
class PinCheck:
    """What the check found: the server, its CA's fingerprint (hex), and what was done."""

    server_url: str
    fingerprint: str
    outcome: PinOutcome
    previous: str | None = None  # REPINNED: the fingerprint it replaced

    @property
    def shown(self) -> str:
        return show_fingerprint(self.fingerprint)


def show_fingerprint(fingerprint_hex: str) -> str:
    """``ab12…`` as people compare it: ``AB:12:…`` (the enrollment slip's format too)."""
    text = fingerprint_hex.upper()
    return ":".join(text[i : i + 2] for i in range(0, len(text), 2))


def ca_fingerprint(chain_pem: str) -> str:
    """SHA-256 of the issuing CA's DER (the chain's first certificate), lower-case hex.

    A chain with no certificate in it is ``ServerRefused`` ``bad_response``.
    """
    try:
        first = x509.load_pem_x509_certificates(chain_pem.encode("ascii"))[0]
    except (ValueError, UnicodeEncodeError, IndexError):
        raise ServerRefused(ClientCode.BAD_RESPONSE, msg("sdk.pin.bad_chain"), status=200) from None
    return hashlib.sha256(first.public_bytes(serialization.Encoding.DER)).hexdigest()


def decide_pin(
    pins: Mapping[str, str], server_url: str, fingerprint: str, *, accept_new: bool
) -> PinCheck:
    """The pin rule: first use pins, the same CA passes, another is ``CaChanged`` unless
    ``accept_new``."""
    pinned = pins.get(server_url)
    if pinned is None:
        return PinCheck(server_url, fingerprint, PinOutcome.PINNED)
    if pinned == fingerprint:
        return PinCheck(server_url, fingerprint, PinOutcome.SAME)
    if accept_new:
        return PinCheck(server_url, fingerprint, PinOutcome.REPINNED, previous=pinned)
    raise CaChanged(
        msg(
            "sdk.pin.changed",
            url=server_url,
            pinned=show_fingerprint(pinned),
            fingerprint=show_fingerprint(fingerprint),
        )
    )


def read_pins(path: Path) -> dict[str, str]:
    """The pins in ``path`` (server address → fingerprint); none when there is no file.

    A damaged file is ``InvalidInput`` (``login --accept-new-ca`` writes a new one).
    """
    if not path.is_file():
        return {}
    try:
        data = json.loads(read_file_limited(path, MAX_PIN_FILE_BYTES))
    except (ValueError, UnicodeDecodeError):
        data = None
    pins = data.get("pins") if isinstance(data, dict) else None
    if not isinstance(pins, dict) or not all(
        isinstance(url, str) and isinstance(value, str) and _is_fingerprint(value)
        for url, value in pins.items()
    ):
        raise InvalidInput(msg("sdk.pin.damaged", path=path))
    return dict(pins)


def write_pins(path: Path, pins: Mapping[str, str]) -> None:
    """Write ``pins`` to ``path``: 0600, atomically (``sync_client.fsio``)."""
    body = {"version": 1, "pins": dict(sorted(pins.items()))}
    write_file_atomic(path, (json.dumps(body, indent=2) + "\n").encode("ascii"))


def pinned_fingerprint(path: Path, server_url: str) -> str | None:
    """The fingerprint pinned for ``server_url``, if any (no network)."""
    return read_pins(path).get(server_url)


def check_server_ca(
    client: SyncClient,
    path: Path,
    server_url: str,
    *,
    accept_new: bool = False,
    record: bool = True,
) -> PinCheck:
    """Ask the server for its CA and apply the pin rule; a new or accepted pin is written
    (``record=False``: not yet — a login records it with ``record_pin`` once it succeeded,
    so that a wrong password leaves nothing behind).

    ``CaChanged`` leaves ``path`` untouched. ``accept_new`` also replaces a damaged pin file.
    """
    fingerprint = ca_fingerprint(client.ca_chain_pem())
    try:
        pins = read_pins(path)
    except InvalidInput:
        if not accept_new:
            raise
        pins = {}
    check = decide_pin(pins, server_url, fingerprint, accept_new=accept_new)
    if record:
        record_pin(path, check)
    return check


def record_pin(path: Path, check: PinCheck) -> None:
    """Write what ``check`` found (nothing when it was the pinned CA already)."""
    if check.outcome is PinOutcome.SAME:
        return
    try:
        pins = read_pins(path)
    except InvalidInput:
        pins = {}  # only an accepted check gets here with a damaged file: it replaces it
    if check.outcome is PinOutcome.PINNED and pins.get(check.server_url, check.fingerprint) != (
        check.fingerprint
    ):
        # Pinned by another run meanwhile, to another CA: that pin stands.
        raise CaChanged(
            msg(
                "sdk.pin.changed",
                url=check.server_url,
                pinned=show_fingerprint(pins[check.server_url]),
                fingerprint=check.shown,
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_pins(path, {**pins, check.server_url: check.fingerprint})


def verify_pinned_ca(client: SyncClient, path: Path, server_url: str) -> PinCheck | None:
    """For a server this device has pinned: ``CaChanged`` unless its CA is still the pinned
    one. ``None``, without asking the server, when there is no pin for it yet."""
    if pinned_fingerprint(path, server_url) is None:
        return None
    return check_server_ca(client, path, server_url)


def _is_fingerprint(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX

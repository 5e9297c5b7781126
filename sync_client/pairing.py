"""The relay handoff of function 5 (憑證上傳手機), as the two halves both programs call.

    PC     send_pfx         open slot ─▶ seal (fresh key; origin, slot, customer and
                            certificate in the AAD) ─▶ upload
                            ─▶ Handoff (slot id, expiry, QR payload text)
    PC     wait_for_outcome long-poll the slot until claimed / expired / cancelled, or a deadline
    phone  receive_pfx      same server? ─▶ claim (spends the slot; says the certificate
                            fingerprint) ─▶ open the envelope ─▶ PFX bytes

The PFX that crosses the relay is still protected by the customer's PFX password: the phone
needs both the QR code (the relay key) and the password. The relay key exists only in the
``Handoff`` (whose ``repr`` hides it) and in the QR code; it is never sent to the server, since
the payload keeps it in the URL fragment and nothing here puts the payload in a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sync_client.api import SlotState, SyncClient
from sync_client.envelope import MAX_PLAINTEXT_BYTES, new_relay_key, open_envelope, seal
from sync_client.errors import ClientError, InvalidInput, QrOtherServer
from sync_client.i18n import msg
from sync_client.national_id import normalize_national_id
from sync_client.origin import origin_of
from sync_client.protocol import RelayState
from sync_client.qr import PairPayload, build_pair_payload

OPEN, CLAIMED, EXPIRED, CANCELLED = (
    RelayState.OPEN,
    RelayState.CLAIMED,
    RelayState.EXPIRED,
    RelayState.CANCELLED,
)
ENDED_STATES = frozenset({CLAIMED, EXPIRED, CANCELLED})

# The server caps one long-poll at 30 s. 25 s leaves room below any proxy's idle timeout.
DEFAULT_WAIT_STEP = 25.0
# Below this many seconds before the deadline a new long-poll is not worth a request.
_MIN_WAIT = 0.05


@dataclass(frozen=True, repr=False)
class Handoff:
    """A slot the PC has filled: what to show (``payload``, the QR text) and until when.

    ``payload`` carries the relay key, so the ``repr`` shows only the slot and its expiry.
    """

    slot_id: str
    expires_at: datetime
    payload: str

    def __repr__(self) -> str:
        return (
            f"Handoff(slot_id={self.slot_id!r}, expires_at={self.expires_at.isoformat()!r}, "
            "payload=***)"
        )


def send_pfx(
    client: SyncClient, *, pfx_bytes: bytes, customer_id: str, certificate_fingerprint: str
) -> Handoff:
    """The PC half: put ``pfx_bytes`` into a new relay slot, encrypted for one phone.

    ``client`` holds a PC session of ``customer_id``; ``certificate_fingerprint`` is the SHA-256
    of the certificate in the PFX (the server refuses with ``certificate_not_current`` unless it
    is the customer's current valid one). The PFX is sealed under a fresh 256-bit key with the
    server's origin, the slot id, the customer and the certificate fingerprint bound in as
    associated data, and uploaded. If the upload fails the
    slot is cancelled (best effort) and the error propagates. The caller checks the PFX password
    beforehand; this function never sees it.
    """
    customer_id = normalize_national_id(customer_id)
    if len(pfx_bytes) > MAX_PLAINTEXT_BYTES:
        # Refuse before opening a slot that could never be filled.
        raise InvalidInput(
            msg("sdk.pairing.too_large", size=len(pfx_bytes), limit=MAX_PLAINTEXT_BYTES)
        )
    slot = client.open_slot(certificate_fingerprint=certificate_fingerprint)
    key = new_relay_key()
    try:
        envelope = seal(
            key=key,
            origin=client.server_url,
            slot_id=slot.slot_id,
            customer_id=customer_id,
            certificate_fingerprint=certificate_fingerprint,
            plaintext=pfx_bytes,
        )
        client.upload_ciphertext(slot.slot_id, envelope)
        payload = build_pair_payload(client.server_url, slot.slot_id, key)
    except BaseException:
        # A slot that will never hold ciphertext should not linger until it expires; if the
        # cancel fails too, the original error is the one worth reporting.
        with suppress(ClientError):
            client.cancel_slot(slot.slot_id)
        raise
    return Handoff(slot_id=slot.slot_id, expires_at=slot.expires_at, payload=payload)


def wait_for_outcome(
    client: SyncClient,
    slot_id: str,
    *,
    deadline: float,
    on_tick: Callable[[SlotState], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wait_step: float = DEFAULT_WAIT_STEP,
) -> str:
    """The PC waits for the phone: ``claimed``, ``expired`` or ``cancelled``; ``open`` on timeout.

    ``deadline`` is a reading of ``clock`` (by default ``time.monotonic()``) after which to stop
    waiting; pass one a little after the slot's expiry to learn "expired" from the server. Each
    round is one long-poll of at most ``wait_step`` seconds (the server answers as soon as the
    state changes), so there is no busy loop. ``on_tick`` gets each answer, e.g. to show the
    time left before ``expires_at``. Errors from the server propagate.
    """
    if wait_step <= 0:
        raise InvalidInput(msg("sdk.pairing.wait_step"))
    state: str = OPEN
    while True:
        remaining = deadline - clock()
        if remaining < _MIN_WAIT:
            return state
        view = client.wait_slot(slot_id, after=OPEN, wait=min(wait_step, remaining))
        state = view.state
        if on_tick is not None:
            on_tick(view)
        if state in ENDED_STATES:
            return state


def receive_pfx(
    client: SyncClient, payload: PairPayload, *, customer_id: str | None = None
) -> bytes:
    """The phone half: claim the slot named in ``payload`` and decrypt it with the QR key.

    ``client`` holds a mobile session. Returns the PFX bytes, still protected by the PFX
    password. The claim spends the slot, so a caller that cannot finish at once (a mistyped
    password) must keep these bytes itself.

    ``customer_id`` is the phone's logged-in customer, bound into the decryption; when omitted
    it is asked from the server (one status call). The origin bound in is ``client``'s, the
    certificate fingerprint the one the claim answer names. Refusals: ``QrPayloadError`` code
    ``wrong_server`` when the QR code names another server than ``client`` talks to (checked
    before anything is sent); the server's ``slot_*`` codes as ``ServerRefused``;
    ``EnvelopeError`` when the ciphertext, the slot id, the key, the server or the certificate
    is not the one the PC sealed for.
    """
    if not same_server(payload.server_url, client.server_url):
        raise QrOtherServer(
            msg("sdk.pairing.wrong_server", qr_url=payload.server_url, url=client.server_url)
        )
    if customer_id is None:
        customer_id = client.status().customer_id
    customer_id = normalize_national_id(customer_id)
    claimed = client.claim_slot(payload.slot_id)
    return open_envelope(
        key=payload.key,
        origin=client.server_url,
        slot_id=payload.slot_id,
        customer_id=customer_id,
        certificate_fingerprint=claimed.certificate_fingerprint,
        envelope=claimed.ciphertext,
    )


def same_server(url_a: str, url_b: str) -> bool:
    """Whether two base URLs name the same server: the same origin (``sync_client.origin``:
    scheme, host in any case or IDNA spelling, port with the default written or not) and the
    same path, a trailing slash aside. A URL without a valid origin matches nothing."""
    try:
        origins = origin_of(url_a.strip()), origin_of(url_b.strip())
    except InvalidInput:
        return False
    paths = (urlsplit(url.strip()).path.rstrip("/") for url in (url_a, url_b))
    return origins[0] == origins[1] and len(set(paths)) == 1

"""``mobile-stub pair``: take the certificate the PC put in a relay slot and keep it.

    payload ─▶ the session's server? (else nothing is sent anywhere)
            ─▶ claim + decrypt (sync_client.pairing.receive_pfx; spends the slot)
            ─▶ pending file (still under the PFX password)
            ─▶ password ─▶ open ─▶ checks (key ↔ certificate, CN, issued by the host's CA,
               host's current certificate)
            ─▶ keystore ─▶ pending file removed

Once the slot is claimed the server has forgotten the ciphertext, so the received PFX is kept
as *pending* before the password is asked: a mistyped password (or a closed terminal) leaves it
there for ``pair --retry``, and scanning the same QR code again also reuses it instead of
claiming a spent slot. A refusal that no password can fix (a certificate for someone else, one
the host's CA did not issue, or not the host's current one) discards it: such a PFX can never
become storable, and keeping it would only offer it again. Nothing reaches the keystore before
every check passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mobile_stub.errors import PairingRefused, QrForAnotherServer
from mobile_stub.keystore import (
    PendingPairing,
    discard_pending,
    load_pending,
    save_pending,
    store_certificate,
)
from mobile_stub.session import PhoneSession
from mobile_stub.store import PhoneHome
from mobile_stub.verdict import check_received_pfx
from sync_client.api import SyncClient
from sync_client.chain import certificates_from_pem
from sync_client.errors import PfxInvalid, WrongPfxPassword
from sync_client.i18n import msg
from sync_client.pairing import receive_pfx, same_server
from sync_client.pfx import LoadedPfx, load_pfx
from sync_client.qr import PairPayload


@dataclass(frozen=True)
class Paired:
    """A certificate now in the phone's keystore."""

    loaded: LoadedPfx
    keystore_path: Path
    slot_id: str
    reused_pending: bool


def refuse_other_server(payload: PairPayload, session: PhoneSession) -> None:
    """``QrForAnotherServer`` unless the QR code names the session's server (the same origin,
    ``sync_client.origin``, and path): the phone talks to no other."""
    if not same_server(payload.server_url, session.server_url):
        raise QrForAnotherServer(
            msg("phone.pair.other_server", qr_url=payload.server_url, url=session.server_url)
        )


def pair_from_payload(
    home: PhoneHome,
    client: SyncClient,
    session: PhoneSession,
    payload: PairPayload,
    *,
    read_password: Callable[[], str],
) -> Paired:
    """Claim and decrypt the slot in ``payload`` (or reuse it if already received), then finish.

    The claim is skipped when a pending pairing for the same slot exists: the slot is spent,
    but its PFX is already here. A QR code for another server than the session's is refused
    first (``qr_other_server``): the phone talks only to the server it logged in to, so
    nothing is sent anywhere and no pending pairing is touched.
    """
    refuse_other_server(payload, session)
    pending = load_pending(home, session.customer_id)
    reused = pending is not None and pending.slot_id == payload.slot_id
    if pending is None or not reused:
        pfx_bytes = receive_pfx(client, payload, customer_id=session.customer_id)
        pending = PendingPairing(
            customer_id=session.customer_id,
            slot_id=payload.slot_id,
            received_at=datetime.now(UTC),
            pfx_bytes=pfx_bytes,
        )
        save_pending(home, pending)
    return finish_pairing(
        home, client, session, pending, read_password=read_password, reused_pending=reused
    )


def finish_pairing(
    home: PhoneHome,
    client: SyncClient,
    session: PhoneSession,
    pending: PendingPairing,
    *,
    read_password: Callable[[], str],
    reused_pending: bool = True,
) -> Paired:
    """Open a received PFX with the password, check it, and store it in the keystore.

    ``WrongPfxPassword`` keeps the pending pairing; refusals no password can fix discard it;
    a server that cannot be reached for the status check keeps it too.
    """
    customer_id = session.customer_id
    password = read_password()
    try:
        loaded = load_pfx(pending.pfx_bytes, password)
    except WrongPfxPassword:
        raise WrongPfxPassword(msg("phone.pair.wrong_password")) from None
    except PfxInvalid:
        discard_pending(home, customer_id)
        raise
    host = client.status()
    ca_certs = certificates_from_pem(client.ca_chain_pem())
    try:
        check_received_pfx(loaded, customer_id=customer_id, host=host, ca_certs=ca_certs)
    except PairingRefused:
        discard_pending(home, customer_id)
        raise
    path = store_certificate(home, loaded, pending.pfx_bytes)
    discard_pending(home, customer_id)
    return Paired(
        loaded=loaded, keystore_path=path, slot_id=pending.slot_id, reused_pending=reused_pending
    )

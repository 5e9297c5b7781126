"""``renew``: function 4, renewal (憑證更新、展期), inside the window before expiry.

Proof of the right to renew (docs/PROTOCOL.md): the CURRENT key signs
``renewal_message(challenge_id, nonce, sha256(new CSR DER))``. The new key, the CSR and that
signature are written to ``<ID>.pending.json`` before the request leaves, so that a renewal
whose answer was lost is retried with exactly the same request: the server answers a repeated
(challenge, CSR) with the same certificate.
"""

from __future__ import annotations

import base64
import hashlib

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pc_client.app import App, Result
from pc_client.commands.enroll import (
    KEY_TYPES,
    ask_terms,
    install_issued,
    issued_json,
    issued_lines,
    now_text,
)
from pc_client.errors import CertificateMismatch, PcRefusal
from pc_client.messages import msg
from pc_client.passwords import check_new_password
from pc_client.records import Pending
from sync_client.api import Issued, RenewalChallenge, SyncClient
from sync_client.errors import ServerRefused, ServerUnreachable, WrongPfxPassword
from sync_client.keys import (
    KeyKind,
    PrivateKey,
    build_csr_pem,
    generate_private_key,
    open_private_key,
    sign,
)
from sync_client.pfx import LoadedPfx
from sync_client.protocol import renewal_message

# A retry whose challenge never reached the server (or expired unused) starts afresh.
_STALE_CHALLENGE = ("challenge_expired", "challenge_invalid")


def _csr_sha256(csr_pem: str) -> str:
    csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
    return hashlib.sha256(csr.public_bytes(serialization.Encoding.DER)).hexdigest()


def _challenge(client: SyncClient) -> RenewalChallenge:
    """A renewal challenge; outside the window, the refusal names the date it opens."""
    try:
        return client.renewal_challenge()
    except ServerRefused as exc:
        opens_at = exc.details.get("opens_at")
        if exc.code == "renewal_not_open" and isinstance(opens_at, str):
            raise ServerRefused(
                exc.code,
                msg("renew.not_open", date=opens_at[:10]),
                status=exc.status,
                details=exc.details,
            ) from exc
        raise


def _signed_pending(
    current: LoadedPfx,
    challenge: RenewalChallenge,
    *,
    sealed_key: bytes,
    csr_pem: str,
    created_at: str,
) -> Pending:
    message = renewal_message(challenge.challenge_id, challenge.nonce, _csr_sha256(csr_pem))
    return Pending(
        operation="renew",
        customer_id=current.customer_id,
        created_at=created_at,
        sealed_key=sealed_key,
        csr_pem=csr_pem,
        challenge_id=challenge.challenge_id,
        nonce=challenge.nonce,
        signature_b64=base64.b64encode(sign(current.key, message)).decode("ascii"),
    )


def _send(client: SyncClient, pending: Pending) -> Issued:
    assert pending.challenge_id is not None and pending.signature_b64 is not None
    return client.renew(
        challenge_id=pending.challenge_id,
        csr_pem=pending.csr_pem,
        signature=base64.b64decode(pending.signature_b64),
    )


def _key_kind(key: PrivateKey) -> KeyKind:
    return "ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"


@click.command()
@click.option("--agree", is_flag=True, help="Accept the terms without the prompt.")
@click.option(
    "--key-type",
    type=KEY_TYPES,
    default=None,
    help="Key of the new certificate [default: the same type as now].",
)
@click.pass_obj
def renew(app: App, agree: bool, key_type: str | None) -> Result:
    """Renew the certificate for one more year (only in the month before it expires).

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. agree to the terms [y/N]  (skipped with --agree)
      2. current PFX password
      3. new PFX password
      4. new PFX password again

    If a renewal was interrupted, running renew again (same answers) finishes it.
    """
    session = app.session()
    customer_id = session.customer_id
    client = app.client()
    store = app.store
    pending = store.load_pending(customer_id)
    if pending is not None and pending.operation != "renew":
        raise PcRefusal(msg("pending.other", operation=pending.operation), code="pending_operation")
    retry = pending if pending is not None and pending.challenge_id else None
    # Outside the window, refuse before asking anything. A retry skips this: the host may
    # already show the new certificate, and then a new challenge would be refused.
    challenge = None if retry is not None else _challenge(client)
    min_length = app.password_min_length()
    ask_terms(app, agree)
    current_password = app.prompter.secret(msg("prompt.current_password"))
    password = app.prompter.secret(msg("prompt.new_password"))
    again = app.prompter.secret(msg("prompt.new_password_again"))
    current = store.open_pfx(customer_id, current_password)
    check_new_password(password, again, min_length=min_length)

    issued: Issued | None = None
    key: PrivateKey | None = None
    if retry is not None:
        try:
            key = open_private_key(retry.sealed_key, password)
        except WrongPfxPassword:
            raise WrongPfxPassword(msg("renew.pending_password", since=retry.created_at)) from None
        try:
            issued = _send(client, retry)
        except ServerRefused as exc:
            if exc.code not in _STALE_CHALLENGE:
                raise
            challenge = _challenge(client)  # the old request never counted: start afresh
        except ServerUnreachable as exc:
            raise ServerUnreachable(f"{exc.message} {msg('renew.unreachable_hint')}") from exc

    if issued is None:
        assert challenge is not None
        host = client.status()
        if host.certificate is None or host.certificate.fingerprint_sha256 != (
            current.fingerprint_sha256
        ):
            raise CertificateMismatch(msg("renew.not_current"))
        if key is None:
            kind: KeyKind = "ec" if key_type == "ec" else "rsa"
            key = generate_private_key(kind if key_type else _key_kind(current.key))
        sealed_key = store.seal_pending_key(key, password)
        csr_pem = build_csr_pem(key, customer_id)
        pending = _signed_pending(
            current, challenge, sealed_key=sealed_key, csr_pem=csr_pem, created_at=now_text()
        )
        store.save_pending(pending)
        app.checkpoint("pending-written")
        try:
            issued = _send(client, pending)
        except ServerRefused as exc:
            if exc.code == "challenge_expired":
                # The prompts took longer than the challenge lives: sign a fresh one once.
                pending = _signed_pending(
                    current,
                    _challenge(client),
                    sealed_key=sealed_key,
                    csr_pem=csr_pem,
                    created_at=pending.created_at,
                )
                store.save_pending(pending)
                try:
                    issued = _send(client, pending)
                except ServerRefused:
                    store.remove_pending(customer_id)
                    raise
            else:
                store.remove_pending(customer_id)  # refused: nothing was issued for this key
                raise
        except ServerUnreachable as exc:
            raise ServerUnreachable(f"{exc.message} {msg('renew.unreachable_hint')}") from exc

    assert key is not None
    loaded = install_issued(app, customer_id, key, issued, password)
    lines = issued_lines(app, loaded, msg("renew.done"))
    lines += [msg("advice.backup"), msg("advice.repair_phone")]
    return Result(issued_json(app, loaded), lines)

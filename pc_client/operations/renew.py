"""Function 4, renewal (憑證更新、展期), inside the window before expiry: ``renew_certificate``.

Proof of the right to renew (docs/PROTOCOL.md): the CURRENT key signs
``renewal_message(challenge_id, nonce, sha256(new CSR DER))``. The new key, the CSR and that
signature are written to ``<ID>.pending.json`` before the request leaves, so that a renewal
whose answer was lost is retried with exactly the same request: the server answers a repeated
(challenge, CSR) with the same certificate.

``check_renew`` asks the host for a challenge: outside the window that is the refusal, before
anything is asked of the customer (a retry skips it: the host may already show the new
certificate, and then a new challenge would be refused). It spends nothing, but it is a request
that creates a challenge, so a page showing its menu asks ``allowed.allowed_now`` instead.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pc_client.app import Context
from pc_client.errors import CertificateMismatch
from pc_client.messages import msg
from pc_client.operations.allowed import refuse_other_pending
from pc_client.operations.enroll import (
    IssuedCertificate,
    install_issued,
    now_text,
    require_terms,
)
from pc_client.operations.password import password_min_length
from pc_client.passwords import check_new_password
from pc_client.records import Pending
from pc_client.render import show_date, show_time_text
from sync_client.api import Issued, RenewalChallenge, SyncClient
from sync_client.codes import ErrorCode
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
from sync_client.protocol import csr_sha256, parse_time, renewal_message

# A retry whose challenge never reached the server (or expired unused) starts afresh.
_STALE_CHALLENGE = (ErrorCode.CHALLENGE_EXPIRED, ErrorCode.CHALLENGE_INVALID)


@dataclass(frozen=True, repr=False)
class RenewCheck:
    """Renewal may go ahead: a fresh ``challenge``, or the interrupted renewal to ``retry``."""

    customer_id: str
    password_min_length: int
    retry: Pending | None
    challenge: RenewalChallenge | None

    def __repr__(self) -> str:
        return f"RenewCheck(customer_id={self.customer_id!r}, retry={self.retry is not None})"


def check_renew(ctx: Context) -> RenewCheck:
    """Refuse over an interrupted apply (``pending_operation``) and outside the window
    (the host's ``renewal_not_open``, naming the date it opens)."""
    session = ctx.session()
    pending = ctx.store.load_pending(session.customer_id)
    refusal = refuse_other_pending(pending, "renew")
    if refusal is not None:
        raise refusal.error()
    retry = pending if pending is not None and pending.challenge_id else None
    challenge = None if retry is not None else _challenge(ctx.client())
    return RenewCheck(session.customer_id, password_min_length(ctx), retry, challenge)


def renew_certificate(
    ctx: Context,
    *,
    terms_accepted: bool,
    current_password: str,
    new_password: str,
    new_password_again: str,
    key_kind: KeyKind | None = None,
    terms_version: str | None = None,
    checked: RenewCheck | None = None,
) -> IssuedCertificate:
    """Renew for one more year under ``new_password``; ``key_kind`` None keeps the key type.

    Refusals before anything is written, in this order: ``terms_not_accepted``,
    ``WrongPfxPassword`` (the current password), the ``PasswordRejected`` codes, then
    ``CertificateMismatch`` when this computer's certificate is not the host's. Finishing an
    interrupted renewal needs the new password chosen then (``WrongPfxPassword`` otherwise).
    ``terms_version`` is the version of the terms shown (``terms_version_outdated`` if old).
    ``ServerUnreachable`` keeps the pending request, and says to run the renewal again.
    """
    checked = checked or check_renew(ctx)
    customer_id, client, store = checked.customer_id, ctx.client(), ctx.store
    require_terms(terms_accepted)
    current = store.open_pfx(customer_id, current_password)
    check_new_password(new_password, new_password_again, min_length=checked.password_min_length)
    password, retry, challenge = new_password, checked.retry, checked.challenge

    issued: Issued | None = None
    key: PrivateKey | None = None
    if retry is not None:
        try:
            key = open_private_key(retry.sealed_key, password)
        except WrongPfxPassword:
            raise WrongPfxPassword(
                msg("renew.pending_password", since=show_time_text(retry.created_at))
            ) from None
        try:
            issued = _send(client, retry, terms_version)
        except ServerRefused as exc:
            if exc.code not in _STALE_CHALLENGE:
                raise
            challenge = _challenge(client)  # the old request never counted: start afresh
        except ServerUnreachable as exc:
            raise _unreachable(exc) from exc

    if issued is None:
        assert challenge is not None
        host = client.status()
        if host.certificate is None or host.certificate.fingerprint_sha256 != (
            current.fingerprint_sha256
        ):
            raise CertificateMismatch(msg("renew.not_current"))
        if key is None:
            key = generate_private_key(key_kind or _key_kind(current.key))
        issued = _sign_and_send(ctx, current, challenge, key, password, terms_version)

    assert key is not None
    return install_issued(ctx, customer_id, key, issued, password)


def _sign_and_send(
    ctx: Context,
    current: LoadedPfx,
    challenge: RenewalChallenge,
    key: PrivateKey,
    password: str,
    terms_version: str | None,
) -> Issued:
    """Keep the signed request as pending, then send it (once more on an expired challenge)."""
    client, store, customer_id = ctx.client(), ctx.store, current.customer_id
    sealed_key = store.seal_pending_key(key, password)
    csr_pem = build_csr_pem(key, customer_id)
    pending = _signed_pending(
        current, challenge, sealed_key=sealed_key, csr_pem=csr_pem, created_at=now_text()
    )
    store.save_pending(pending)
    ctx.checkpoint("pending-written")
    try:
        return _send(client, pending, terms_version)
    except ServerRefused as exc:
        if exc.code != ErrorCode.CHALLENGE_EXPIRED:
            store.remove_pending(customer_id)  # refused: nothing was issued for this key
            raise
    except ServerUnreachable as exc:
        raise _unreachable(exc) from exc
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
        return _send(client, pending, terms_version)
    except ServerRefused:
        store.remove_pending(customer_id)
        raise
    except ServerUnreachable as exc:
        raise _unreachable(exc) from exc


def _unreachable(exc: ServerUnreachable) -> ServerUnreachable:
    hint = msg("renew.unreachable_hint")
    return ServerUnreachable(f"{exc.message} {hint}")


def _csr_sha256(csr_pem: str) -> str:
    return csr_sha256(x509.load_pem_x509_csr(csr_pem.encode("ascii")))


def _challenge(client: SyncClient) -> RenewalChallenge:
    """A renewal challenge; outside the window, the refusal names the date it opens."""
    try:
        return client.renewal_challenge()
    except ServerRefused as exc:
        opens_at = exc.details.get("opens_at")
        if exc.code == ErrorCode.RENEWAL_NOT_OPEN and isinstance(opens_at, str):
            raise ServerRefused(
                exc.code,
                msg("renew.not_open", date=show_date(parse_time(opens_at))),
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


def _send(client: SyncClient, pending: Pending, terms_version: str | None) -> Issued:
    assert pending.challenge_id is not None and pending.signature_b64 is not None
    return client.renew(
        challenge_id=pending.challenge_id,
        csr_pem=pending.csr_pem,
        signature=base64.b64decode(pending.signature_b64),
        terms_version=terms_version,
    )


def _key_kind(key: PrivateKey) -> KeyKind:
    return "ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"

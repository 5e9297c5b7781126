"""Function 2, online application (``apply_for_certificate``), and function 3, re-download
(``redownload_certificate``); ``install_issued`` is shared with the renewal.

The key pair is made here; only a CSR leaves the PC. Before the CSR is sent, the new key is
written to ``<ID>.pending.json`` sealed with the new PFX password: if the answer is lost
after the host issued, the re-download (opened by customer service) fetches the certificate
and finds its key there.

Each function has a ``check_*`` step (the refusals that need no answer from the customer),
which the command line runs before its prompts and hands back in as ``checked=`` (with the
same ``Context``: the check is what logs the client in); a page's form post can leave it out
and the operation checks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pc_client import remember
from pc_client.app import Context
from pc_client.errors import CertificateMismatch, PcCode, PcRefusal
from pc_client.messages import msg
from pc_client.operations.allowed import refuse_apply, refuse_redownload
from pc_client.operations.password import choose_security_setting, password_min_length
from pc_client.passwords import check_new_password
from pc_client.records import Pending
from sync_client.api import Issued
from sync_client.codes import ErrorCode
from sync_client.errors import ServerRefused, ServerUnreachable
from sync_client.keys import (
    KeyKind,
    PrivateKey,
    build_csr_pem,
    generate_private_key,
    key_matches_certificate,
    open_private_key,
)
from sync_client.protocol import format_time
from sync_client.security import SecuritySetting


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate the host issued and this computer saved as ``path`` (``<ID>.pfx``)."""

    customer_id: str
    serial: int
    serial_display: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    path: Path


@dataclass(frozen=True)
class Applied:
    """What an application produced: the certificate and the security setting chosen."""

    certificate: IssuedCertificate
    security_setting: SecuritySetting


def require_terms(accepted: bool) -> None:
    """Apply and renew need the customer's agreement to the terms (``terms_not_accepted``)."""
    if not accepted:
        raise PcRefusal(msg("terms.refused"), code=ErrorCode.TERMS_NOT_ACCEPTED)


def now_text() -> str:
    """The current time, RFC 3339 UTC (when a pending operation began)."""
    return format_time(datetime.now(UTC))


def install_issued(
    ctx: Context, customer_id: str, key: PrivateKey, issued: Issued, password: str
) -> IssuedCertificate:
    """Write the PFX for an issued certificate, re-open it, then drop the pending key."""
    cert = issued.certificate.load()
    if not key_matches_certificate(key, cert):
        raise CertificateMismatch(msg("install.other_key"), code=PcCode.KEY_MISMATCH)
    ctx.checkpoint("issued")
    pfx_bytes = ctx.store.build_pfx(
        customer_id=customer_id, key=key, cert=cert, chain=issued.chain(), password=password
    )
    loaded = ctx.store.install_pfx(customer_id, pfx_bytes, password)
    ctx.store.remove_pending(customer_id)
    remember.replace_remembered(customer_id, password)
    return IssuedCertificate(
        customer_id=loaded.customer_id,
        serial=loaded.serial,
        serial_display=loaded.serial_display,
        not_before=loaded.not_before,
        not_after=loaded.not_after,
        fingerprint_sha256=loaded.fingerprint_sha256,
        path=ctx.store.pfx_path(loaded.customer_id),
    )


# -- function 2: apply --------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyCheck:
    """Apply may go ahead for ``customer_id``; a new password needs this many characters."""

    customer_id: str
    password_min_length: int


def check_apply(ctx: Context) -> ApplyCheck:
    """Refuse while the host shows a valid certificate, or a renewal waits to be finished."""
    session = ctx.session()
    host = ctx.client().status()
    pending = ctx.store.load_pending(session.customer_id)
    refusal = refuse_apply(host_valid=host.is_valid, pending=pending)
    if refusal is not None:
        raise refusal.error()
    return ApplyCheck(session.customer_id, password_min_length(ctx))


@dataclass(frozen=True)
class SlipChecked:
    """The application may go ahead with this code, until the slip expires."""

    checked: ApplyCheck
    slip_expires_at: datetime


def check_enrollment_slip(ctx: Context, enrollment_code: str) -> SlipChecked:
    """The page's first step of function 2, as the original asked for the slip's code first:
    refuse as ``check_apply`` does, then as the host does for the code, without using it up
    (``enrollment_code_invalid`` counts as a try, as at apply; ``enrollment_code_locked``…).
    The command line lets ``apply`` find out, after its other prompts."""
    checked = check_apply(ctx)
    expires_at = ctx.client().check_enrollment_code(enrollment_code.strip())
    return SlipChecked(checked, expires_at)


def apply_for_certificate(
    ctx: Context,
    *,
    enrollment_code: str,
    terms_accepted: bool,
    password: str,
    password_again: str,
    security_setting: object,
    key_kind: KeyKind = "rsa",
    terms_version: str | None = None,
    checked: ApplyCheck | None = None,
) -> Applied:
    """Generate a key, send its CSR with the enrollment code, save the certificate.

    Refusals before anything is written, in this order: ``terms_not_accepted``, the
    ``PasswordRejected`` codes, the security setting's (``choose_security_setting``); then the
    server's (``enrollment_code_*``, ``terms_version_outdated`` when ``terms_version``, the
    version of the terms shown, is not the current one: the pending key is removed, nothing was
    issued). ``ServerUnreachable`` keeps the pending key, and says how to finish by re-download.
    """
    checked = checked or check_apply(ctx)
    customer_id = checked.customer_id
    code = enrollment_code.strip()
    require_terms(terms_accepted)
    check_new_password(password, password_again, min_length=checked.password_min_length)
    setting = choose_security_setting(security_setting)

    key = generate_private_key(key_kind)
    csr_pem = build_csr_pem(key, customer_id)
    ctx.store.save_pending(
        Pending(
            operation="apply",
            customer_id=customer_id,
            created_at=now_text(),
            sealed_key=ctx.store.seal_pending_key(key, password),
            csr_pem=csr_pem,
        )
    )
    ctx.checkpoint("pending-written")
    try:
        issued = ctx.client().apply(
            enrollment_code=code, csr_pem=csr_pem, terms_accepted=True, terms_version=terms_version
        )
    except ServerRefused:
        ctx.store.remove_pending(customer_id)  # refused: nothing was issued for this key
        raise
    except ServerUnreachable as exc:
        hint = msg("apply.unreachable_hint")
        raise ServerUnreachable(f"{exc.message} {hint}") from exc
    certificate = install_issued(ctx, customer_id, key, issued, password)
    ctx.store.update_settings(security_setting=int(setting), customer_id=customer_id)
    if setting is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    return Applied(certificate, setting)


# -- function 3: redownload ---------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RedownloadCheck:
    """An interrupted apply or renewal left its sealed key here (``pending``)."""

    customer_id: str
    pending: Pending

    def __repr__(self) -> str:
        return f"RedownloadCheck(customer_id={self.customer_id!r})"


def check_redownload(ctx: Context) -> RedownloadCheck:
    """Refuse (``no_pending_key``) unless this computer holds the key to finish with."""
    session = ctx.session()
    pending = ctx.store.load_pending(session.customer_id)
    refusal = refuse_redownload(pending)
    if refusal is not None:
        raise refusal.error()
    assert pending is not None  # refuse_redownload refuses exactly when there is none
    return RedownloadCheck(session.customer_id, pending)


def redownload_certificate(
    ctx: Context, *, password: str, checked: RedownloadCheck | None = None
) -> IssuedCertificate:
    """Fetch the certificate the host issued for the pending key, and save it.

    ``password`` is the PFX password chosen when applying (or renewing). The key is unlocked
    before the server is asked: a mistyped password (``WrongPfxPassword``) must not spend the
    one-time re-download.
    """
    checked = checked or check_redownload(ctx)
    key = open_private_key(checked.pending.sealed_key, password)
    issued = ctx.client().redownload()
    return install_issued(ctx, checked.customer_id, key, issued, password)

"""Function 1, certificate query and check (憑證查詢暨憑證資料檢核): the facts, not the text.

``gather_status`` asks the host, looks at the store and compares (``sync_client.verdict``);
``advise`` says, as facts, what the customer should do next. Both front ends show these: the
command line as a table and sentences (``pc_client.status_report``), the page as a form;
the words for a status code or a verdict are ``pc_client.messages``' (``status_label_text``,
``verdict_text``).
Other operations start from the same view (export, import, pair, and the rules of
``pc_client.operations.allowed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pc_client.app import Context
from pc_client.records import Pending, StoreSettings
from pc_client.store import LocalCertificate
from sync_client.api import HostStatus
from sync_client.errors import ServerUnreachable
from sync_client.protocol import StatusCode
from sync_client.verdict import Check, Verdict, check_match


@dataclass(frozen=True)
class StatusView:
    """Everything function 1 shows: the host, this computer, and the verdict."""

    customer_id: str
    host: HostStatus
    local: LocalCertificate
    check: Check
    pending: Pending | None  # an interrupted apply or renewal on this computer
    settings: StoreSettings
    session_setting: int  # the security setting in force for this login


@dataclass(frozen=True)
class LocalStatusView:
    """Function 1 when the host cannot be reached: this computer's part only, and why the
    host's part is unknown (the original showed 主機端 and 用戶端 apart; so do we)."""

    customer_id: str
    local: LocalCertificate
    pending: Pending | None
    settings: StoreSettings
    session_setting: int
    unreachable: ServerUnreachable  # its message names the server and the cause in words


def gather_status_or_local(ctx: Context) -> StatusView | LocalStatusView:
    """``gather_status``, or, when the host does not answer, this computer's part alone.

    Only ``ServerUnreachable`` becomes a ``LocalStatusView``; a refusal (an expired session,
    a changed CA) still stops the status, as it would any other function.
    """
    try:
        return gather_status(ctx)
    except ServerUnreachable as exc:
        session = ctx.session()
        return LocalStatusView(
            customer_id=session.customer_id,
            local=ctx.store.local_certificate(session.customer_id),
            pending=ctx.store.load_pending(session.customer_id),
            settings=ctx.store.load_settings(),
            session_setting=session.security_setting,
            unreachable=exc,
        )


def gather_status(ctx: Context) -> StatusView:
    """Ask the host, look at the store, compare. Needs a login session (``NotLoggedIn``)."""
    session = ctx.session()
    host = ctx.client().status()
    local = ctx.store.local_certificate(session.customer_id)
    check = check_match(
        host_code=host.code,
        host_fingerprint=host.certificate.fingerprint_sha256 if host.certificate else None,
        local_fingerprint=local.fingerprint_sha256,
    )
    return StatusView(
        customer_id=session.customer_id,
        host=host,
        local=local,
        check=check,
        pending=ctx.store.load_pending(session.customer_id),
        settings=ctx.store.load_settings(),
        session_setting=session.security_setting,
    )


class AdviceKind(StrEnum):
    """What the customer is advised to do; the catalogue says each as ``advice.<kind>``."""

    UNREGISTERED = "unregistered"  # the file here was not written by us: import it to check it
    IMPORT_LATEST = "import_latest"  # no match: import the latest valid certificate
    APPLY = "apply"  # the host has no valid certificate: apply
    RENEW = "renew"  # inside the renewal window: renew before the end date
    PENDING_APPLY = "pending_apply"  # an interrupted apply: ask for a re-download
    PENDING_RENEW = "pending_renew"  # an interrupted renewal: run renew again


@dataclass(frozen=True)
class Advice:
    """One piece of advice and the values its sentence names."""

    kind: AdviceKind
    path: Path | None = None  # UNREGISTERED: the file
    status_code: int | None = None  # APPLY: the host's status code
    renew_before: datetime | None = None  # RENEW: when the certificate ends
    since: str | None = None  # PENDING_*: when the interrupted operation began (RFC 3339)


def advise(view: StatusView) -> tuple[Advice, ...]:
    """What the customer should do next, given the check, in the order it is shown."""
    items: list[Advice] = []
    check, host = view.check, view.host
    if view.local.present and view.local.cert is None:
        items.append(Advice(AdviceKind.UNREGISTERED, path=view.local.path))
    if check.verdict is not Verdict.MATCH and check.host_valid:
        # The manual's advice for both verdicts; only when the host has a valid certificate
        # to import (with none, or an expired or revoked one, applying is the way).
        items.append(Advice(AdviceKind.IMPORT_LATEST))
    if not check.host_valid:
        items.append(Advice(AdviceKind.APPLY, status_code=host.code))
    elif host.code == StatusCode.EXPIRING and host.certificate is not None:
        items.append(Advice(AdviceKind.RENEW, renew_before=host.certificate.not_after))
    if view.pending is not None:
        kind = (
            AdviceKind.PENDING_RENEW
            if view.pending.operation == "renew"
            else AdviceKind.PENDING_APPLY
        )
        items.append(Advice(kind, since=view.pending.created_at))
    return tuple(items)

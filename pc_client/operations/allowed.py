"""Which functions the rules allow now, and why not: one pure answer over the status view.

The page greys out what cannot run and says why; the operations refuse with the very same
``Refusal`` (code, sentence, error class), because they call the same small rules::

    apply             only without a valid certificate, and no interrupted renewal
    redownload        an interrupted apply or renewal left its key on this computer
    renew             inside the window (status 31) with this computer's certificate the
                      host's; or finishing an interrupted renewal; never over an interrupted
                      apply
    pair, export      this computer's certificate is the host's current valid one
    import            always (with a login session)
    passwd,
    security-setting  a certificate file is on this computer (showing the setting needs none)

No clock is passed in: the one time-dependent rule, the renewal window, is decided by the
host's own clock and arrives in the view as status 31 (with ``renewal_opens_at`` otherwise).
Where the host is the authority (the window, whether customer service opened a re-download)
the operation still asks it; the answer here is then the page's best prediction, made with
the sentence the host's refusal would produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from pc_client.errors import CertificateMismatch, NoLocalCertificate, PcCode, PcRefusal
from pc_client.messages import msg, operation_text, status_label_text, verdict_text
from pc_client.operations.status import StatusView
from pc_client.records import Pending
from pc_client.render import show_date
from pc_client.store import LocalCertificate
from sync_client.api import HostStatus
from sync_client.codes import ErrorCode
from sync_client.protocol import StatusCode
from sync_client.verdict import Check, Verdict


class Function(StrEnum):
    """The functions whose rules depend on the state; the values are the command names."""

    APPLY = "apply"
    REDOWNLOAD = "redownload"
    RENEW = "renew"
    PAIR = "pair"
    EXPORT = "export"
    IMPORT = "import"
    PASSWD = "passwd"  # noqa: S105 (the command's name, not a password)
    SECURITY_SETTING = "security-setting"


@dataclass(frozen=True)
class Refusal:
    """Why a function cannot run: the machine ``code``, the sentence, the error to raise."""

    code: PcCode | ErrorCode
    message: str
    error_type: type[PcRefusal] = PcRefusal

    def error(self) -> PcRefusal:
        """The error the operation raises for this refusal (a fresh one each time)."""
        return self.error_type(self.message, code=self.code)


@dataclass(frozen=True)
class Allowance:
    """Whether ``function`` may run now; ``refusal`` says why not."""

    function: Function
    refusal: Refusal | None = None

    @property
    def allowed(self) -> bool:
        """The rules let it run now."""
        return self.refusal is None


# -- the rules, each shared by the operation it guards ----------------------------------------


def refuse_apply(*, host_valid: bool, pending: Pending | None) -> Refusal | None:
    """Apply only without a valid certificate, and not over an interrupted renewal."""
    if host_valid:
        interrupted = pending is not None and pending.operation == "apply"
        text = msg("apply.already_valid_pending") if interrupted else msg("apply.already_valid")
        return Refusal(ErrorCode.CERTIFICATE_ALREADY_VALID, text)
    return refuse_other_pending(pending, "apply")


def refuse_other_pending(pending: Pending | None, operation: str) -> Refusal | None:
    """``operation`` cannot start while another one (apply or renew) waits to be finished."""
    if pending is not None and pending.operation != operation:
        text = msg("pending.other", operation=operation_text(pending.operation))
        return Refusal(PcCode.PENDING_OPERATION, text)
    return None


def refuse_redownload(pending: Pending | None) -> Refusal | None:
    """A re-download needs the key an interrupted apply or renewal left on this computer."""
    if pending is None:
        return Refusal(PcCode.NO_PENDING_KEY, msg("redownload.nothing_pending"))
    return None


def refuse_unusable(check: Check, host_code: int, function: Function) -> Refusal | None:
    """Export and pair only when this computer's certificate is the host's current valid one."""
    if check.usable:
        return None
    reason = verdict_text(check.verdict)
    if check.verdict is Verdict.MATCH:
        reason = msg("export.host_not_valid", label=status_label_text(host_code))
    text = (
        msg("pair.refused", reason=reason)
        if function is Function.PAIR
        else msg("export.refused", reason=reason)
    )
    return Refusal(PcCode.CERTIFICATE_MISMATCH, text, CertificateMismatch)


def refuse_without_file(local: LocalCertificate) -> Refusal | None:
    """The PFX password and the security setting need a certificate file on this computer."""
    if not local.present:
        return Refusal(
            PcCode.NO_LOCAL_CERTIFICATE, msg("store.no_pfx", path=local.path), NoLocalCertificate
        )
    return None


def refuse_outside_window(host: HostStatus) -> Refusal | None:
    """Renewal only in the window, status 31 (the host decides; this foretells its answer)."""
    if host.code == StatusCode.EXPIRING:
        return None
    if host.code == StatusCode.VALID:
        if host.renewal_opens_at is not None:
            opens = show_date(host.renewal_opens_at)
            return Refusal(ErrorCode.RENEWAL_NOT_OPEN, msg("renew.not_open", date=opens))
        return Refusal(ErrorCode.RENEWAL_NOT_OPEN, msg("apply.already_valid"))
    code = ErrorCode.NO_CERTIFICATE if host.certificate is None else ErrorCode.RENEWAL_NOT_OPEN
    return Refusal(code, msg("advice.apply", label=status_label_text(host.code)))


def refuse_renew(view: StatusView) -> Refusal | None:
    """Renew: the pending rule, then (unless finishing one) the window, the file, the match."""
    refusal = refuse_other_pending(view.pending, "renew")
    if refusal is not None:
        return refusal
    if view.pending is not None and view.pending.challenge_id:
        return None  # finishing an interrupted renewal: the host may show the new one already
    refusal = refuse_outside_window(view.host) or refuse_without_file(view.local)
    if refusal is not None:
        return refusal
    if view.check.verdict is not Verdict.MATCH:
        return Refusal(PcCode.CERTIFICATE_MISMATCH, msg("renew.not_current"), CertificateMismatch)
    return None


# -- all of them at once, for the page's menu -------------------------------------------------


def allowed_now(view: StatusView) -> Mapping[Function, Allowance]:
    """Per function, whether its rule allows it now (pure: the view is all it reads)."""
    refusals: dict[Function, Refusal | None] = {
        Function.APPLY: refuse_apply(host_valid=view.check.host_valid, pending=view.pending),
        Function.REDOWNLOAD: refuse_redownload(view.pending),
        Function.RENEW: refuse_renew(view),
        Function.PAIR: refuse_unusable(view.check, view.host.code, Function.PAIR),
        Function.EXPORT: refuse_unusable(view.check, view.host.code, Function.EXPORT),
        Function.IMPORT: None,
        Function.PASSWD: refuse_without_file(view.local),
        Function.SECURITY_SETTING: refuse_without_file(view.local),
    }
    return MappingProxyType({f: Allowance(f, refusal) for f, refusal in refusals.items()})

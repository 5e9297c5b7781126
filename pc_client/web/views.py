"""The operations' facts as the page shows them: rows, sentences, menu entries. No rules.

Each function here only says how a fact looks (in the current language): which function is
allowed, what the verdict is, which advice applies — all of that is decided by
``pc_client.operations``. Sentences come from the catalogue; times from
``sync_client.display``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from cryptography import x509
from cryptography.x509.oid import NameOID

from pc_client.errors import PcCode
from pc_client.messages import (
    N_,
    describe_setting,
    doctor_text,
    explain_setting,
    msg,
    status_label_text,
    verdict_text,
)
from pc_client.operations.allowed import Allowance, Function
from pc_client.operations.doctor import Finding
from pc_client.operations.status import Advice, AdviceKind, LocalStatusView, StatusView
from pc_client.render import show_time_text
from sync_client.codes import ErrorCode
from sync_client.display import certificate_time, show_time
from sync_client.errors import ClientCode, ClientError
from sync_client.protocol import format_serial
from sync_client.refusals import user_message
from sync_client.security import SecuritySetting
from sync_client.verdict import Verdict

# -- the menu -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    """One entry of the left menu: greyed out (with the reason) when its rule forbids it."""

    label: str
    href: str
    enabled: bool = True
    reason: str = ""
    current: bool = False


# The original's menu, in its order: (label id, path, the rule that guards it).
MENU: tuple[tuple[str, str, Function | None], ...] = (
    (N_("web.menu.status"), "/", None),
    (N_("web.menu.apply"), "/apply", Function.APPLY),
    (N_("web.menu.redownload"), "/redownload", Function.REDOWNLOAD),
    (N_("web.menu.renew"), "/renew", Function.RENEW),
    (N_("web.menu.pair"), "/pair", Function.PAIR),
    (N_("web.menu.export"), "/export", Function.EXPORT),
    (N_("web.menu.import"), "/import", Function.IMPORT),
    (N_("web.menu.passwd"), "/passwd", Function.PASSWD),
    (N_("web.menu.security"), "/security-setting", Function.SECURITY_SETTING),
    (N_("web.menu.doctor"), "/doctor", None),
)


def menu_items(allowances: Mapping[Function, Allowance] | None, path: str) -> list[MenuItem]:
    """The menu for a page at ``path``. Without ``allowances`` (the host could not be asked)
    every entry stays clickable and the page behind it says what is wrong. 憑證重新下載, as in
    the original, appears only when it can be used."""
    items = []
    for label_id, href, function in MENU:
        allowance = allowances.get(function) if allowances and function else None
        enabled = allowance is None or allowance.allowed
        if function is Function.REDOWNLOAD and not enabled:
            continue
        refusal = allowance.refusal if allowance else None
        reason = refusal_reason(refusal.code, refusal.message) if refusal else ""
        current = path == href or (href != "/" and path.startswith(href + "/"))
        items.append(MenuItem(msg(label_id), href, enabled, reason, current))
    return items


# -- function 1: the two info tables ------------------------------------------------------------


@dataclass(frozen=True)
class InfoRow:
    label: str
    value: str


def status_text(code: int) -> str:
    """``代碼 0 (有效憑證)``: the code and its label, as the original showed them."""
    return status_label_text(code)


def setting_text(setting: int) -> str:
    """``2 (登入後第一次下單詢問憑證密碼)``."""
    return msg("web.setting.value", setting=setting, description=describe_setting(setting))


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "-"


def host_rows(view: StatusView) -> list[InfoRow]:
    """主機資料庫目前的憑證資訊: CN, status, serial, valid from, valid to."""
    cert = view.host.certificate
    return [
        InfoRow(msg("web.status.cn"), cert.subject_cn if cert else "-"),
        InfoRow(msg("web.status.state"), status_text(view.host.code)),
        InfoRow(msg("web.status.serial"), cert.serial_display if cert else "-"),
        InfoRow(msg("web.status.valid_from"), certificate_time(cert.not_before) if cert else "-"),
        InfoRow(msg("web.status.valid_to"), certificate_time(cert.not_after) if cert else "-"),
    ]


def unknown_host_rows() -> list[InfoRow]:
    """主機端 when the host did not answer: each row marked unknown."""
    unknown = msg("status.host_unknown")
    return [
        InfoRow(msg("web.status.cn"), unknown),
        InfoRow(msg("web.status.state"), unknown),
        InfoRow(msg("web.status.serial"), unknown),
        InfoRow(msg("web.status.valid_from"), unknown),
        InfoRow(msg("web.status.valid_to"), unknown),
    ]


def client_rows(view: StatusView | LocalStatusView) -> list[InfoRow]:
    """用戶端的憑證資訊: folder, file, security setting, CN, serial, valid from, valid to."""
    local = view.local
    cert = local.cert
    unknown = msg("status.unknown") if local.present else "-"

    def _value(text: str | None) -> str:
        return text if text is not None else unknown

    return [
        InfoRow(msg("web.status.folder"), str(local.path.parent)),
        InfoRow(
            msg("web.status.file"), local.path.name if local.present else msg("web.status.no_file")
        ),
        InfoRow(msg("web.status.security"), setting_text(view.settings.security_setting)),
        InfoRow(msg("web.status.cn"), _value(_cn(cert) if cert else None)),
        InfoRow(
            msg("web.status.serial"), _value(format_serial(cert.serial_number) if cert else None)
        ),
        InfoRow(
            msg("web.status.valid_from"),
            _value(certificate_time(cert.not_valid_before_utc) if cert else None),
        ),
        InfoRow(
            msg("web.status.valid_to"),
            _value(certificate_time(cert.not_valid_after_utc) if cert else None),
        ),
    ]


def verdict_sentence(view: StatusView) -> str:
    """The original's sentence for the check."""
    return verdict_text(view.check.verdict)


def verdict_is_match(view: StatusView) -> bool:
    """For the colour of the verdict box only."""
    return view.check.verdict is Verdict.MATCH and view.check.host_valid


ADVICE_TEXTS: Mapping[AdviceKind, str] = MappingProxyType(
    {
        AdviceKind.UNREGISTERED: N_("web.advice.unregistered"),
        AdviceKind.IMPORT_LATEST: N_("web.advice.import_latest"),
        AdviceKind.APPLY: N_("web.advice.apply"),
        AdviceKind.RENEW: N_("web.advice.renew"),
        AdviceKind.PENDING_APPLY: N_("web.advice.pending_apply"),
        AdviceKind.PENDING_RENEW: N_("web.advice.pending_renew"),
    }
)


def advice_text(advice: Advice) -> str:
    """One piece of advice, naming the page's menu entries (not the commands)."""
    values: dict[str, object] = {}
    if advice.kind is AdviceKind.UNREGISTERED:
        values["path"] = advice.path
    elif advice.kind is AdviceKind.APPLY:
        values["label"] = status_text(advice.status_code or 0)
    elif advice.kind is AdviceKind.RENEW:
        values["date"] = show_time(advice.renew_before)
    else:
        values["since"] = show_time_text(advice.since)
    return msg(ADVICE_TEXTS[advice.kind], **values)


def advice_texts(advice: Sequence[Advice]) -> list[str]:
    return [advice_text(a) for a in advice]


# -- forms: security settings, refusals, times ----------------------------------------------------


@dataclass(frozen=True)
class SettingChoice:
    value: int
    description: str  # the setting's name, as the original listed it
    explanation: str  # what it means when an order is placed
    checked: bool


def setting_choices(current: int) -> list[SettingChoice]:
    """The three radio buttons of the security setting, with their meanings."""
    return [
        SettingChoice(int(s), describe_setting(int(s)), explain_setting(int(s)), int(s) == current)
        for s in SecuritySetting
    ]


# Refusals whose shared sentence tells the customer to type a command: on the page, the
# page's own sentence (naming the menu's functions) by the refusal's code.
WEB_REFUSALS: Mapping[str, str] = MappingProxyType(
    {
        ErrorCode.CERTIFICATE_ALREADY_VALID: N_("web.refusal.certificate_already_valid"),
        PcCode.NO_PENDING_KEY: N_("web.refusal.no_pending_key"),
        PcCode.PENDING_OPERATION: N_("web.refusal.pending_operation"),
        ClientCode.CREDENTIAL_STORE_UNAVAILABLE: N_("web.refusal.credential_store_unavailable"),
        PcCode.FILE_EXISTS: N_("web.refusal.file_exists"),
        ErrorCode.NO_CERTIFICATE: N_("web.refusal.no_certificate"),
        ErrorCode.TERMS_NOT_ACCEPTED: N_("web.refusal.terms_not_accepted"),
    }
)


def refusal_text(error: ClientError, overrides: Mapping[str, str] | None = None) -> str:
    """The sentence for a refusal: the page's own where the shared one names a command
    (``overrides`` first: a page's words for a code), the server's codes in the customer's
    words, else the error's sentence."""
    message_id = (overrides or {}).get(error.code) or WEB_REFUSALS.get(error.code)
    if message_id is not None:
        return msg(message_id)
    return user_message(error)


def refusal_reason(code: str, message: str) -> str:
    """A rule's refusal (``allowed.Refusal``) as the page says it."""
    message_id = WEB_REFUSALS.get(code)
    return msg(message_id) if message_id is not None else message


def time_text(moment: datetime | None) -> str:
    return show_time(moment)


# -- function 10: the table ---------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorRow:
    number: int
    item: str
    name: str
    purpose: str
    recommended: str
    current: str
    ok: bool
    fixable: bool
    fixed: bool
    note: str  # what to do by hand, when it cannot be fixed here


def doctor_rows(findings: Sequence[Finding]) -> list[DoctorRow]:
    """The rows of 憑證作業環境檢查, numbered as the original numbered them."""
    rows = []
    for number, finding in enumerate(findings, start=1):
        note = "" if finding.ok else (finding.how if finding.fixable else finding.cannot_fix)
        rows.append(
            DoctorRow(
                number=number,
                item=finding.item,
                name=doctor_text(finding.item, "name"),
                purpose=doctor_text(finding.item, "purpose"),
                recommended=doctor_text(finding.item, "recommended"),
                current=finding.current,
                ok=finding.ok,
                fixable=not finding.ok and finding.fixable,
                fixed=finding.fixed,
                note=note,
            )
        )
    return rows

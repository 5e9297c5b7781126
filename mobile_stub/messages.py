"""``mobile-stub``'s way to the one message catalogue (``sync_client.i18n``).

Every sentence the phone shows a person is ``msg("phone.…", **values)``, in the language of
the run (``mobile_stub.language``). Ids built from a value are listed here with ``N_`` so that
extraction finds them. Machine output — ``[code]``, ``--json`` keys and values — is never
translated: a ``--json`` run speaks English throughout.

Errors reach a person through ``user_message``, at the command line's edge: the phone's own
errors and the SDK's carry their sentence already (both come from the catalogue); the server's
refusals get the catalogue's sentence for their code (``sync_client.refusals.error_message``), the
server's English ``message`` only for a code the catalogue does not know.
"""

from __future__ import annotations

from typing import Final

from sync_client.codes import ErrorCode
from sync_client.errors import ClientError, ServerRefused
from sync_client.i18n import N_, msg
from sync_client.protocol import StatusCode
from sync_client.refusals import user_message as sdk_user_message
from sync_client.security import SecuritySetting

__all__ = [
    "N_",
    "describe_setting",
    "msg",
    "side_label",
    "status_label",
    "user_message",
]

# The original's three 安全設定值 descriptions, word for word in zh-TW.
SETTING_DESCRIPTIONS: Final = {
    SecuritySetting.EVERY_ORDER: N_("phone.setting.description.1"),
    SecuritySetting.FIRST_ORDER: N_("phone.setting.description.2"),
    SecuritySetting.NEVER: N_("phone.setting.description.3"),
}

# The host's status labels are shared with pc-client (有效憑證, 即將到期, …).
STATUS_LABELS: Final = {
    StatusCode.VALID: N_("status.label.valid"),
    StatusCode.EXPIRING: N_("status.label.expiring"),
    StatusCode.NONE: N_("status.label.none"),
    StatusCode.EXPIRED: N_("status.label.expired"),
    StatusCode.REVOKED: N_("status.label.revoked"),
}

SIDES: Final = {"buy": N_("phone.order.side.buy"), "sell": N_("phone.order.side.sell")}


def describe_setting(setting: SecuritySetting) -> str:
    """What the security setting means, for people."""
    return msg(SETTING_DESCRIPTIONS[setting])


def status_label(code: int, fallback: str) -> str:
    """``代碼 0 (有效憑證)`` / ``code 0 (valid)``: the host's status as the original showed it;
    ``fallback`` (the server's label) names a code this phone does not know."""
    try:
        label = msg(STATUS_LABELS[StatusCode(code)])
    except ValueError:
        label = fallback
    return msg("phone.status.code", code=code, label=label)


def side_label(side: str) -> str:
    """``buy`` / ``sell`` in words (買進 / 賣出); an unknown side as it is."""
    message_id = SIDES.get(side.lower())
    return msg(message_id) if message_id is not None else side


def user_message(exc: ClientError) -> str:
    """The one line a person reads about ``exc``.

    The server's ``unauthenticated`` gets the phone's own advice (log in again), since only the
    phone knows the command for it.
    """
    if isinstance(exc, ServerRefused) and exc.code == ErrorCode.UNAUTHENTICATED:
        return msg("phone.error.session_expired")
    return sdk_user_message(exc)

"""``pc-client``'s way to the one message catalogue (``sync_client.i18n``).

Every sentence ``pc-client`` (and its page) shows a person is ``msg(id, **values)``: the id's
template in the current language, from ``sync_client/locale``. Machine codes (``[code]`` in
errors, ``--json`` fields) are never translated. Messages never contain a password, a key or a
token: templates only take public values.

Ids chosen at run time (a status code's label, a verdict, a ``doctor`` item's texts) are
listed here with ``N_`` so that extraction finds them; the helpers below are the only way to
turn such a value into words, so a call site never builds an id from pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal

from sync_client.i18n import N_, msg, placeholders
from sync_client.protocol import StatusCode
from sync_client.security import SETTING_DESCRIPTIONS, SETTING_EXPLANATIONS
from sync_client.verdict import Verdict

__all__ = [
    "N_",
    "describe_setting",
    "doctor_column",
    "doctor_text",
    "explain_setting",
    "msg",
    "operation_text",
    "pair_png_text",
    "placeholders",
    "setting_menu",
    "side_text",
    "status_label_text",
    "status_name",
    "verdict_text",
]

# -- function 1: status codes and verdicts ---------------------------------------------------

STATUS_LABELS: Final[Mapping[StatusCode, str]] = {
    StatusCode.VALID: N_("status.label.valid"),
    StatusCode.EXPIRING: N_("status.label.expiring"),
    StatusCode.NONE: N_("status.label.none"),
    StatusCode.EXPIRED: N_("status.label.expired"),
    StatusCode.REVOKED: N_("status.label.revoked"),
}

VERDICTS: Final[Mapping[Verdict, str]] = {
    Verdict.MATCH: N_("verdict.match"),
    Verdict.NO_LOCAL_MATCH: N_("verdict.no_local_match"),
    Verdict.MISMATCH: N_("verdict.mismatch"),
}


def status_name(code: int) -> str:
    """The label alone: ``有效憑證`` / ``valid``; the bare number for a code we do not know."""
    try:
        return msg(STATUS_LABELS[StatusCode(code)])
    except ValueError:
        return str(code)


def status_label_text(code: int) -> str:
    """A host status as the original showed it: ``代碼 0 (有效憑證)`` / ``0 valid``."""
    try:
        label = msg(STATUS_LABELS[StatusCode(code)])
    except ValueError:
        return str(code)
    return msg("status.code_label", code=code, label=label)


def verdict_text(verdict: Verdict | str) -> str:
    """The verdict's sentence: ``您的電腦中沒有與主機相同之憑證`` and so on."""
    return msg(VERDICTS[Verdict(verdict)])


# -- function 9: the security setting ----------------------------------------------------------


def describe_setting(setting: int) -> str:
    """The security setting's name, in the original's words (``登入後第一次下單詢問憑證密碼``)."""
    return msg(SETTING_DESCRIPTIONS[setting])


def explain_setting(setting: int) -> str:
    """What the setting means when ordering, in one sentence (the original's 說明)."""
    return msg(SETTING_EXPLANATIONS[setting])


def setting_menu() -> list[str]:
    """The three choices with their meaning, shown before the security-setting prompt."""
    lines = [msg("setting.menu.title")]
    for setting in (1, 2, 3):
        lines.append(
            msg(
                "setting.menu.item",
                setting=setting,
                description=describe_setting(setting),
                explanation=explain_setting(setting),
            )
        )
    return lines


# -- function 10: the environment check ---------------------------------------------------------

DoctorPart = Literal["name", "purpose", "recommended"]

DOCTOR_TEXTS: Final[Mapping[str, Mapping[DoctorPart, str]]] = {
    "python": {
        "name": N_("doctor.python.name"),
        "purpose": N_("doctor.python.purpose"),
        "recommended": N_("doctor.python.recommended"),
    },
    "cryptography": {
        "name": N_("doctor.cryptography.name"),
        "purpose": N_("doctor.cryptography.purpose"),
        "recommended": N_("doctor.cryptography.recommended"),
    },
    "openssl": {
        "name": N_("doctor.openssl.name"),
        "purpose": N_("doctor.openssl.purpose"),
        "recommended": N_("doctor.openssl.recommended"),
    },
    "folder_exists": {
        "name": N_("doctor.folder_exists.name"),
        "purpose": N_("doctor.folder_exists.purpose"),
        "recommended": N_("doctor.folder_exists.recommended"),
    },
    "folder_writable": {
        "name": N_("doctor.folder_writable.name"),
        "purpose": N_("doctor.folder_writable.purpose"),
        "recommended": N_("doctor.folder_writable.recommended"),
    },
    "folder_not_read_only": {
        "name": N_("doctor.folder_not_read_only.name"),
        "purpose": N_("doctor.folder_not_read_only.purpose"),
        "recommended": N_("doctor.folder_not_read_only.recommended"),
    },
    "folder_not_hidden": {
        "name": N_("doctor.folder_not_hidden.name"),
        "purpose": N_("doctor.folder_not_hidden.purpose"),
        "recommended": N_("doctor.folder_not_hidden.recommended"),
    },
    "folder_private": {
        "name": N_("doctor.folder_private.name"),
        "purpose": N_("doctor.folder_private.purpose"),
        "recommended": N_("doctor.folder_private.recommended"),
    },
    "file_owners": {
        "name": N_("doctor.file_owners.name"),
        "purpose": N_("doctor.file_owners.purpose"),
        "recommended": N_("doctor.file_owners.recommended"),
    },
    "file_modes": {
        "name": N_("doctor.file_modes.name"),
        "purpose": N_("doctor.file_modes.purpose"),
        "recommended": N_("doctor.file_modes.recommended"),
    },
    "leftovers": {
        "name": N_("doctor.leftovers.name"),
        "purpose": N_("doctor.leftovers.purpose"),
        "recommended": N_("doctor.leftovers.recommended"),
    },
    "server": {
        "name": N_("doctor.server.name"),
        "purpose": N_("doctor.server.purpose"),
        "recommended": N_("doctor.server.recommended"),
    },
    "clock": {
        "name": N_("doctor.clock.name"),
        "purpose": N_("doctor.clock.purpose"),
        "recommended": N_("doctor.clock.recommended"),
    },
    "credential_store": {
        "name": N_("doctor.credential_store.name"),
        "purpose": N_("doctor.credential_store.purpose"),
        "recommended": N_("doctor.credential_store.recommended"),
    },
}

DOCTOR_COLUMNS: Final[Mapping[str, str]] = {
    "item": N_("doctor.column.item"),
    "purpose": N_("doctor.column.purpose"),
    "recommended": N_("doctor.column.recommended"),
    "current": N_("doctor.column.current"),
    "action": N_("doctor.column.action"),
}


def doctor_text(item: str, part: DoctorPart) -> str:
    """A ``doctor`` item's name, purpose or recommended value (``KeyError`` for an unknown)."""
    return msg(DOCTOR_TEXTS[item][part])


def doctor_column(column: str) -> str:
    """The heading of a ``doctor`` table column: item, purpose, recommended, current, action."""
    return msg(DOCTOR_COLUMNS[column])


# -- words for machine values inside sentences ----------------------------------------------

OPERATIONS: Final[Mapping[str, str]] = {
    "apply": N_("operation.apply"),
    "renew": N_("operation.renew"),
}

SIDES: Final[Mapping[str, str]] = {
    "buy": N_("order.side.buy"),
    "sell": N_("order.side.sell"),
}


def operation_text(operation: str) -> str:
    """An interrupted operation's name for a sentence (``pending.other``): 用戶線上憑證申請 …"""
    message_id = OPERATIONS.get(operation)
    return msg(message_id) if message_id else operation


def side_text(side: str) -> str:
    """An order's side for a sentence (``order.done``): 買進 / 賣出, buy / sell."""
    message_id = SIDES.get(side)
    return msg(message_id) if message_id else side


PAIR_PNG: Final[Mapping[bool, str]] = {
    True: N_("pair.png_kept"),  # --no-wait: the image stays
    False: N_("pair.png"),
}


def pair_png_text(path: Path, *, kept: bool) -> str:
    """Where the QR image is, and whether it is deleted when pairing ends."""
    return msg(PAIR_PNG[kept], path=path)


# Lines a command shows while it waits on the host (apply, renew, redownload) and the
# security-setting command's success line, as the original said them.
PROCESSING: Final = N_("progress.processing")
SETTING_DONE: Final = N_("setting.done")
# ``pair --no-wait --timeout S``: a usage error (click shows it as one).
PAIR_TIMEOUT_WITH_NO_WAIT: Final = N_("pair.timeout_with_no_wait")

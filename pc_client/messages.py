"""Every sentence ``pc-client`` shows a person, by message id, in one place.

``msg(id, **values)`` fills a ``str.format`` template from ``EN``. A Traditional Chinese
catalog (``ZH_TW``) is started with the phrases the original system used; it will be completed
by translation, then chosen by a setting (``LANGUAGE``). Keys of ``ZH_TW`` must be keys of
``EN`` with the same placeholders (a test checks this), and a missing translation falls back
to English. Machine codes (``[code]`` in errors, ``--json`` fields) are never translated.

Messages never contain a password, a key or a token: templates only take public values.
"""

from __future__ import annotations

import string
from typing import Final

EN: Final[dict[str, str]] = {
    # -- prompts (the order per command is in that command's --help) --------------------------
    "prompt.login_password": "Login password",
    "prompt.enrollment_code": "Enrollment code (from the certificate password slip)",
    "prompt.agree": "Do you agree to the terms?",
    "prompt.new_password": "New PFX password",
    "prompt.new_password_again": "New PFX password again",
    "prompt.current_password": "Current PFX password",
    "prompt.pfx_password": "PFX password",
    "prompt.pending_password": "PFX password chosen when applying (or renewing)",
    "prompt.security_setting": "Security setting 1/2/3",
    "prompt.missing": "Standard input ended before the answer to '{label}'.",
    # -- the command line ---------------------------------------------------------------------
    "cli.interrupted": "Interrupted.",
    "cli.unexpected": "Unexpected {kind}; run again with --debug for details.",
    "options.iterations": (
        "PC_CLIENT_PFX_ITERATIONS must be a positive whole number, not {value!r}."
    ),
    # -- the store ----------------------------------------------------------------------------
    "store.not_a_folder": "The store folder {path} exists but is not a folder.",
    "store.cannot_create": "Cannot create the store folder {path}: {reason}.",
    "store.cannot_write": "Cannot write {path}: {reason}.",
    "store.corrupt": "The file {path} is damaged; run `pc-client doctor`.",
    "store.no_pfx": "There is no certificate file {path} on this computer.",
    "pfx.wrong_customer": "The certificate in this file is for {cn}, not for {id}.",
    # -- sessions -----------------------------------------------------------------------------
    "session.none": "You are not logged in: run `pc-client login ID` first.",
    "session.other_server": (
        "You are logged in to {session_url}, not to {url}: run `pc-client login ID` again."
    ),
    "session.no_customer": "Nobody has logged in on this computer yet: run `pc-client login ID`.",
    "login.done": "Logged in as {id} until {until}.",
    "login.setting": "Security setting for this session: {setting} ({description}).",
    "login.renewal_reminder": (
        "Reminder: your certificate {serial} expires on {date}. "
        "Renew it now with `pc-client renew`."
    ),
    "logout.done": "Logged out ({id}).",
    "logout.none": "You were not logged in.",
    "logout.server_not_told": (
        "The server could not be told; the session ends there by itself at {until}."
    ),
    # -- security setting ---------------------------------------------------------------------
    "setting.description.1": "ask for the PFX password on every order",
    "setting.description.2": "ask on the first order after each login",
    "setting.description.3": "never ask; the password is kept in the system's credential store",
    "setting.chosen": (
        "Security setting {setting} ({description}); it takes effect from the next login."
    ),
    "setting.current": "Security setting {setting}: {description}.",
    "setting.session_differs": (
        "This login session still uses setting {setting} until you log in again."
    ),
    "setting.no_credential_store": (
        "Setting 3 needs the system's credential store, and this computer has none; "
        "choose 1 or 2 (see `pc-client doctor`)."
    ),
    # -- new passwords ------------------------------------------------------------------------
    "password.too_short": "The new PFX password needs at least {min_length} characters.",
    "password.too_long": "The new PFX password may have at most {max_length} characters.",
    "password.characters": "The new PFX password may contain only letters (A-Z, a-z) and digits.",
    "password.differ": "The two new passwords differ.",
    # -- terms --------------------------------------------------------------------------------
    "terms.text": (
        "Terms: the certificate identifies you when you sign orders. Keep the PFX file and its "
        "password to yourself; tell the brokerage at once if either may be known to someone "
        "else, so that the certificate is revoked."
    ),
    "terms.refused": "You did not agree to the terms; nothing was done.",
    # -- apply, renew, re-download ------------------------------------------------------------
    "apply.already_valid": (
        "You already hold a valid certificate: check it with `pc-client status`; renew it in "
        "the month before it expires."
    ),
    "apply.already_valid_pending": (
        "The host issued your certificate, but this computer did not store it: ask customer "
        "service to open a re-download, then run `pc-client redownload`."
    ),
    "apply.unreachable_hint": (
        "If the host issued the certificate anyway, ask customer service to open a re-download "
        "and run `pc-client redownload`."
    ),
    "apply.done": "Your certificate was issued.",
    "pending.other": (
        "An interrupted {operation} must be finished first: run `pc-client status` for how."
    ),
    "issued.serial": "Serial: {serial}",
    "issued.validity": "Valid from {start} to {end}.",
    "issued.saved": "Saved as {path}.",
    "install.other_key": (
        "The certificate the host sent is not for the key on this computer; nothing was changed."
    ),
    "redownload.nothing_pending": (
        "There is no interrupted application or renewal on this computer to finish; "
        "to use your certificate here, import it (`pc-client import PATH`)."
    ),
    "redownload.done": "Your certificate was downloaded again and saved.",
    "renew.not_open": "Renewal is not open yet: it opens on {date}.",
    "renew.not_current": (
        "The certificate on this computer is not the host's current one; import the latest "
        "valid certificate first."
    ),
    "renew.pending_password": (
        "A renewal from {since} was interrupted; type the new PFX password you chose then."
    ),
    "renew.unreachable_hint": "Run `pc-client renew` again to finish the renewal.",
    "renew.done": "Your certificate was renewed.",
    # -- status -------------------------------------------------------------------------------
    "status.title": "Certificate check for {id}",
    "status.host": "Host",
    "status.client": "This computer",
    "status.row.folder": "Folder",
    "status.row.file": "File name",
    "status.row.security": "Security setting",
    "status.row.cn": "CN",
    "status.row.status": "Status",
    "status.row.serial": "Serial",
    "status.row.valid_from": "Valid from",
    "status.row.valid_to": "Valid to",
    "status.no_file": "(none)",
    "status.unknown": "(unknown)",
    "status.label.valid": "valid",
    "status.label.expiring": "expiring soon",
    "status.label.none": "never issued",
    "status.label.expired": "expired",
    "status.label.revoked": "revoked",
    "verdict.match": "The certificate on this computer matches the host.",
    "verdict.no_local_match": "No certificate on this computer matches the host.",
    "verdict.mismatch": "Certificate mismatch.",
    "advice.import_latest": "Import the latest valid certificate: `pc-client import PATH`.",
    "advice.apply": (
        "The host's status is {label}: apply for a certificate with `pc-client apply` "
        "(with the enrollment slip from your branch)."
    ),
    "advice.renew": "Renewal is open: renew with `pc-client renew` before {date}.",
    "advice.unregistered": (
        "{path} was not written by pc-client on this computer (or changed since); "
        "import it to check it: `pc-client import {path}`."
    ),
    "advice.pending_apply": (
        "An application from {since} was interrupted: ask customer service to open a "
        "re-download, then run `pc-client redownload`."
    ),
    "advice.pending_renew": (
        "A renewal from {since} was interrupted: run `pc-client renew` again to finish it."
    ),
    "advice.backup": "Export a backup now: `pc-client export DIR` (a USB stick, for example).",
    "advice.repair_phone": (
        "If you use the trading app on your phone, pair it again: `pc-client pair`."
    ),
    # -- export, import, passwd ---------------------------------------------------------------
    "export.refused": "Export refused: {reason}",
    "export.host_not_valid": "the host's status is {label}.",
    "export.no_folder": "There is no folder {path}; create it or choose another.",
    "export.changed": "The certificate file changed while it was being checked; try again.",
    "export.exists": (
        "{path} already exists and is a different file; use --force to overwrite it."
    ),
    "export.verify_failed": "The copy at {path} does not read back the same; do not rely on it.",
    "export.done": "Exported to {path}.",
    "export.advice": "Keep the copy safe: anyone with the file and its password can sign for you.",
    "import.cn_invalid": "The certificate's CN {cn!r} is not a valid customer ID.",
    "import.would_replace": (
        "This computer's certificate matches the host and the one to import does not; "
        "nothing was changed (use --force to replace it anyway)."
    ),
    "import.done": "Imported as {path}.",
    "passwd.done": "The PFX password of {path} was changed.",
    "passwd.copies": "Exported copies and your phone keep the old password.",
    # -- pair (upload to phone) ---------------------------------------------------------------
    "pair.refused": "Upload to the phone refused: {reason}",
    "pair.png_is_folder": "{path} is a folder; give --qr-png a file name.",
    "pair.png_no_folder": (
        "There is no folder {path} for the QR image; create it or choose another."
    ),
    "pair.intro": "Upload to phone for {id}: certificate {serial}, valid to {until}.",
    "pair.instructions": (
        "On the phone: log in to the trading app as {id}, scan this QR code, "
        "then type your PFX password."
    ),
    "pair.png": "The QR code is also in {path} (deleted when pairing ends).",
    "pair.png_kept": "The QR code is also in {path}.",
    "pair.waiting_until": "Waiting for the phone until {until}. Ctrl-C cancels.",
    "pair.waiting": "Waiting for the phone: {left} left. Ctrl-C cancels.",
    "pair.no_wait": "The QR code works once, until {until}; this command does not wait for it.",
    "pair.claimed": "The certificate reached the phone.",
    "pair.claimed_next": "The phone asks for your PFX password to finish.",
    "pair.expired": (
        "The QR code expired before the phone took the certificate: run `pc-client pair` again, "
        "with the phone logged in as {id}, and scan within the time shown."
    ),
    "pair.timeout": (
        "No phone took the certificate within {seconds} s; the QR code was cancelled. "
        "Run `pc-client pair` again."
    ),
    "pair.cancelled": "The QR code was cancelled; run `pc-client pair` again.",
    "pair.interrupted": "Interrupted; the QR code was cancelled and no longer works.",
    # -- order --------------------------------------------------------------------------------
    "order.not_remembered": (
        "Security setting 3 is on, but no PFX password is kept in the credential store; "
        "run `pc-client security-setting 3` again."
    ),
    "order.remembered_wrong": (
        "The PFX password kept in the credential store no longer opens the file; "
        "run `pc-client security-setting` again."
    ),
    "order.done": "Order {order_id} accepted: {side} {qty} {symbol} at {price}.",
    # -- doctor -------------------------------------------------------------------------------
    "doctor.column.item": "Item",
    "doctor.column.purpose": "Purpose",
    "doctor.column.recommended": "Recommended",
    "doctor.column.current": "Current",
    "doctor.column.action": "Action",
    "doctor.action.none": "-",
    "doctor.action.fixed": "fixed",
    "doctor.action.fixable": "run `pc-client doctor --fix`",
    "doctor.action.cannot": "cannot fix: {why}",
    "doctor.summary.ok": "Everything is in order.",
    "doctor.summary.problems": "{count} problem(s) remain.",
    "doctor.yes": "yes",
    "doctor.no": "no",
    "doctor.none": "none",
    "doctor.missing": "{path} (missing)",
    "doctor.no_folder": "(no folder)",
    "doctor.needs_folder": "create the folder first",
    "doctor.mode": "mode {mode}",
    "doctor.read_only": "read-only (mode {mode})",
    "doctor.hidden": "hidden",
    "doctor.visible": "visible",
    "doctor.no_files": "no files yet",
    "doctor.all_0600": "{count} file(s), all 0600",
    "doctor.reachable": "reachable at {url}",
    "doctor.available": "available",
    "doctor.unavailable": "unavailable",
    "doctor.python.name": "Python",
    "doctor.python.purpose": "runs pc-client",
    "doctor.python.recommended": "3.11 or later",
    "doctor.python.how": "install Python 3.11 or later",
    "doctor.cryptography.name": "cryptography",
    "doctor.cryptography.purpose": "keys, certificates, PFX files",
    "doctor.cryptography.recommended": "44 or later",
    "doctor.cryptography.how": "upgrade the cryptography package",
    "doctor.openssl.name": "OpenSSL",
    "doctor.openssl.purpose": "the cryptography library's engine",
    "doctor.openssl.recommended": "3.0 or later",
    "doctor.folder_exists.name": "Store folder",
    "doctor.folder_exists.purpose": "holds <ID>.pfx and the settings",
    "doctor.folder_exists.recommended": "exists",
    "doctor.folder_exists.how": "{path} is a file; move it away or choose --home",
    "doctor.folder_writable.name": "Folder writable",
    "doctor.folder_writable.purpose": "new and renewed certificates are saved there",
    "doctor.folder_writable.recommended": "writable",
    "doctor.folder_writable.how": "give your user write permission on the folder",
    "doctor.folder_not_read_only.name": "Folder not read-only",
    "doctor.folder_not_read_only.purpose": "a read-only folder blocks saving",
    "doctor.folder_not_read_only.recommended": "not read-only",
    "doctor.folder_not_hidden.name": "Folder not hidden",
    "doctor.folder_not_hidden.purpose": "you can find it to back it up",
    "doctor.folder_not_hidden.recommended": "not hidden",
    "doctor.folder_not_hidden.how": "choose a folder whose name does not start with a dot",
    "doctor.file_modes.name": "File permissions",
    "doctor.file_modes.purpose": "only you can read the certificate and session",
    "doctor.file_modes.recommended": "0600",
    "doctor.leftovers.name": "Leftover files",
    "doctor.leftovers.purpose": "an interrupted save leaves temporary files",
    "doctor.leftovers.recommended": "none",
    "doctor.server.name": "Server",
    "doctor.server.purpose": "status, apply, renewal and orders need it",
    "doctor.server.recommended": "reachable",
    "doctor.server.how": "check the network and the URL {url} (--server)",
    "doctor.clock.name": "Clock",
    "doctor.clock.purpose": "orders more than 5 minutes off are refused",
    "doctor.clock.recommended": "within 60 s of the server",
    "doctor.clock.skew": "{seconds} s from the server",
    "doctor.clock.unknown": "unknown (server unreachable)",
    "doctor.clock.how": "set the computer's clock (automatic time)",
    "doctor.credential_store.name": "Credential store",
    "doctor.credential_store.purpose": "keeps the PFX password for setting 3",
    "doctor.credential_store.recommended": "available",
    "doctor.credential_store.how": "use setting 1 or 2, or install a system keyring",
    "doctor.credential_store.not_needed": "unavailable (not needed for setting {setting})",
}

# The original system's own phrases (憑證註冊系統), and first translations around them.
ZH_TW: Final[dict[str, str]] = {
    "verdict.match": "您的電腦中之憑證與主機相同。",
    "verdict.no_local_match": "您的電腦中沒有與主機相同之憑證",  # the original's wording
    "verdict.mismatch": "憑證不相符",  # the original's wording
    "advice.import_latest": "請匯入最新有效憑證：`pc-client import PATH`。",
    "status.label.valid": "有效憑證",  # the original's label for status 0
    "status.label.expiring": "即將到期",  # the original's label for status 31
    "status.label.none": "未申請憑證",
    "status.label.expired": "憑證已過期",
    "status.label.revoked": "憑證已廢止",
    "status.host": "主機",
    "status.client": "本機",
}

CATALOGS: Final[dict[str, dict[str, str]]] = {"en": EN, "zh-TW": ZH_TW}
LANGUAGE = "en"


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def msg(message_id: str, /, **values: object) -> str:
    """The message ``message_id`` in ``LANGUAGE`` (English where not yet translated)."""
    template = CATALOGS.get(LANGUAGE, EN).get(message_id) or EN[message_id]
    return template.format(**values)


def describe_setting(setting: int) -> str:
    """The security setting's meaning, for people."""
    return msg(f"setting.description.{setting}")

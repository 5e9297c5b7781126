"""The one message catalogue: every sentence a person reads, in Traditional Chinese and English.

The catalogue is gettext's, kept with Babel (``python3 dev.py i18n`` extracts, updates and
compiles it)::

    sync_client/locale/certsync.pot                    what the code asks for (extracted)
    sync_client/locale/en/LC_MESSAGES/certsync.po      English
    sync_client/locale/zh_TW/LC_MESSAGES/certsync.po   Traditional Chinese (the default for
                                                       a Chinese locale)
    …/certsync.mo                                      compiled, shipped in the package

Messages are looked up by a stable id (``msg("status.title", id=...)``) rather than by their
English text, so that the English wording can be edited like any other translation and a call
site stays short. Templates use named ``str.format`` placeholders (``{id}``), which a translator
may reorder; both languages must use the same set (a test checks it). Ids built at run time
are listed with ``N_`` where they are made, so extraction finds them too.

The language is a context variable: a command line sets it once (``use_language``), the local
web page per request. Machine output — ``[code]`` in errors, ``--json``, the API, logs — is
never translated.
"""

from __future__ import annotations

import contextlib
import errno
import gettext
import locale
import os
import string
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final, Literal

from sync_client.codes import ErrorCode
from sync_client.errors import ClientError, ServerRefused

DOMAIN: Final = "certsync"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"

Language = Literal["zh-TW", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh-TW", "en")
DEFAULT_LANGUAGE: Final[Language] = "en"

# gettext's folder names for our language tags.
_GETTEXT_NAMES: Final[dict[Language, str]] = {"zh-TW": "zh_TW", "en": "en"}

_current: ContextVar[Language] = ContextVar("certsync_language", default=DEFAULT_LANGUAGE)


def N_(message_id: str) -> str:  # gettext's own name for the no-op marker
    """Mark ``message_id`` for extraction where it is stored, not yet shown (gettext_noop)."""
    return message_id


@cache
def _translations(language: Language) -> gettext.NullTranslations:
    name = _GETTEXT_NAMES[language]
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[name], fallback=True)


def current_language() -> Language:
    """The language messages are shown in now."""
    return _current.get()


@contextlib.contextmanager
def use_language(language: Language) -> Iterator[None]:
    """Show messages in ``language`` inside the ``with`` block (this thread/task only)."""
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: Language) -> None:
    """Show messages in ``language`` from now on, in this context (a command line's run)."""
    _current.set(language)


def has_message(message_id: str, language: Language | None = None) -> bool:
    """Whether the catalogue of ``language`` (default: the current one) has ``message_id``."""
    translations = _translations(language or current_language())
    return translations.gettext(message_id) != message_id


def template(message_id: str, language: Language | None = None) -> str:
    """The raw template of ``message_id``: the language's, else English, else the id itself."""
    chosen = language or current_language()
    text = _translations(chosen).gettext(message_id)
    if text == message_id and chosen != "en":
        text = _translations("en").gettext(message_id)
    return text


def msg(message_id: str, /, **values: object) -> str:
    """The message ``message_id`` in the current language, its placeholders filled."""
    text = template(message_id)
    return text.format(**values) if values else text


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# -- choosing the language ----------------------------------------------------------------

# The locale variables in POSIX order of precedence.
_LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")


def parse_language(raw: str) -> Language | None:
    """A language tag or locale name → ours: ``zh-TW``, ``zh_TW.UTF-8``, ``zh_HK``, ``zh-Hant``,
    ``Chinese (Traditional)_Taiwan.950`` (Windows) → ``zh-TW``; ``en``, ``en_US`` → ``en``;
    anything else (``C``, ``fr_FR``, ``zh_CN``) → ``None``."""
    name = raw.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_").lower()
    if not name:
        return None
    parts = name.split("_")
    if parts[0] == "zh":
        rest = set(parts[1:])
        return "zh-TW" if rest & {"tw", "hk", "mo", "hant"} else None
    if parts[0] in ("chinese (traditional)", "chinese") and (
        "traditional" in name or "taiwan" in name or "hong kong" in name
    ):
        return "zh-TW"
    if parts[0] in ("en", "english"):
        return "en"
    return None


def system_language(environ: Mapping[str, str], *, windows: bool | None = None) -> Language | None:
    """The OS locale's language: ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (the first one set
    decides); on Windows, which has no such variables, the user's locale.

    Elsewhere the variables are the whole answer: the process's own locale was made from the
    same variables at start, and ``environ`` may be another one (a test passes its own)."""
    for name in _LOCALE_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return parse_language(value)
    if not (os.name == "nt" if windows is None else windows):
        return None
    with contextlib.suppress(ValueError, TypeError):
        platform_name = locale.getlocale(locale.LC_CTYPE)[0]
        if platform_name and platform_name not in ("C", "POSIX"):
            return parse_language(platform_name)
    return None


def choose_language(
    *,
    flag: str | None,
    environ: Mapping[str, str],
    variable: str,
    remembered: str | None = None,
) -> Language:
    """``--lang``, else the program's variable (``PC_CLIENT_LANG``), else what the store
    remembers, else the OS locale, else English. Unknown values are skipped, not fatal: the
    flag itself is checked by the command line before it gets here."""
    for candidate in (flag, environ.get(variable), remembered):
        if candidate and (language := parse_language(candidate)) is not None:
            return language
    return system_language(environ) or DEFAULT_LANGUAGE


# -- the server's refusals, in the customer's words -----------------------------------------

# Every ``ErrorCode`` member a customer can meet has a sentence: exactly these ids, listed by
# hand so that extraction finds them (tests/test_error_codes.py holds them to ``ErrorCode``, and
# tests/test_catalogue.py to docs/PROTOCOL.md's table); ``.details`` forms take the refusal's
# ``details``.
SERVER_ERRORS: Final[tuple[str, ...]] = (
    N_("error.bad_request"),
    N_("error.invalid_national_id"),
    N_("error.unauthenticated"),
    N_("error.login_failed"),
    N_("error.login_failed.details"),
    N_("error.account_locked"),
    N_("error.account_locked.details"),
    N_("error.wrong_device_kind"),
    N_("error.not_found"),
    N_("error.method_not_allowed"),
    N_("error.payload_too_large"),
    N_("error.terms_not_accepted"),
    N_("error.terms_version_outdated"),
    N_("error.enrollment_code_invalid"),
    N_("error.enrollment_code_invalid.details"),
    N_("error.enrollment_code_superseded"),
    N_("error.enrollment_code_expired"),
    N_("error.enrollment_code_used"),
    N_("error.enrollment_code_locked"),
    N_("error.certificate_already_valid"),
    N_("error.csr_invalid"),
    N_("error.csr_signature_invalid"),
    N_("error.csr_subject_mismatch"),
    N_("error.csr_key_unsupported"),
    N_("error.no_certificate"),
    N_("error.renewal_not_open"),
    N_("error.renewal_not_open.details"),
    N_("error.challenge_invalid"),
    N_("error.challenge_expired"),
    N_("error.challenge_used"),
    N_("error.proof_invalid"),
    N_("error.redownload_not_open"),
    N_("error.redownload_expired"),
    N_("error.redownload_used"),
    N_("error.order_invalid"),
    N_("error.order_stale"),
    N_("error.order_replayed"),
    N_("error.certificate_not_valid"),
    N_("error.order_signature_invalid"),
    N_("error.certificate_not_current"),
    N_("error.slot_not_found"),
    N_("error.slot_not_ready"),
    N_("error.slot_already_uploaded"),
    N_("error.slot_too_large"),
    N_("error.slot_expired"),
    N_("error.slot_spent"),
    N_("error.slot_cancelled"),
    N_("error.slot_wrong_customer"),
    N_("error.internal_error"),
    N_("error.not_ready"),
)


# The customer-service codes reach no customer: only ``sync-server admin`` meets them, and it
# speaks English to staff with the service's own message. They have no sentence here (a client
# that met one anyway would show the server's message, as for any code it does not know).
OPERATOR_CODES: Final = frozenset(
    {
        ErrorCode.CUSTOMER_NOT_FOUND,
        ErrorCode.CUSTOMER_EXISTS,
        ErrorCode.CERTIFICATE_NOT_FOUND,
        ErrorCode.ALREADY_REVOKED,
        ErrorCode.SERIAL_AMBIGUOUS,
    }
)


def error_message(code: str, fallback: str, details: Mapping[str, object] | None = None) -> str:
    """What to tell a person about the error ``code``: the catalogue's ``error.<code>``
    sentence (its ``error.<code>.details`` form when the details fill it), else ``fallback``
    (the server's own English message, for a code this client does not know).

    Details are the server's machine values: a time (a key ending in ``_at`` or ``_until``,
    RFC 3339 UTC) is shown as people read it, in the current language (``display.show_time``).
    """
    values = {key: _detail_text(key, value) for key, value in (details or {}).items()}
    for message_id in (f"error.{code}.details", f"error.{code}"):
        if not has_message(message_id, "en"):
            continue
        text = template(message_id)
        if placeholders(text) <= set(values):
            return text.format(**values) if values else text
    return fallback


def user_message(exc: ClientError) -> str:
    """The one sentence a person reads about ``exc``: a server's refusal in the catalogue's
    words for its code (``error_message``), followed by the client's ``advice`` if any; the
    SDK's and the programs' own errors carry their sentence already."""
    if not isinstance(exc, ServerRefused):
        return exc.message
    text = error_message(exc.code, exc.message, exc.details)
    return f"{text} {exc.advice}".strip() if exc.advice else text


def _detail_text(key: str, value: object) -> object:
    if not (isinstance(value, str) and key.endswith(("_at", "_until"))):
        return value
    from sync_client.display import show_time  # display imports this module
    from sync_client.protocol import parse_time

    try:
        return show_time(parse_time(value))
    except ValueError:
        return value


# -- the operating system's reasons, in the customer's words --------------------------------

_OS_REASONS: Final[dict[int, str]] = {
    errno.EACCES: N_("sdk.os.permission"),
    errno.EPERM: N_("sdk.os.permission"),
    errno.ENOENT: N_("sdk.os.not_found"),
    errno.ENOSPC: N_("sdk.os.no_space"),
    errno.EROFS: N_("sdk.os.read_only"),
    errno.EEXIST: N_("sdk.os.exists"),
    errno.EISDIR: N_("sdk.os.is_folder"),
    errno.ENOTDIR: N_("sdk.os.not_folder"),
}


def os_reason(exc: OSError) -> str:
    """Why the operating system refused, for a sentence such as ``store.cannot_write``: the
    catalogue's words for the usual causes, else the system's own (``strerror``)."""
    message_id = _OS_REASONS.get(exc.errno) if exc.errno is not None else None
    if message_id is not None:
        return msg(message_id)
    return exc.strerror or type(exc).__name__

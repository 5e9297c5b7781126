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

"""The brokerage's own words: its name, customer-service line and hours, and the terms.

Served as they are at ``GET /api/v1/info``. Built-in defaults, which the operator overrides
with ``SYNC_INFO_FILE``: a JSON file of the same shape as the response, read once at start
(``load_info``). A partial file fills from the defaults, key by key and language by language.
Anything else — an unknown key or language, an empty string, changed terms under an old
version — is a one-line ``ConfigError`` naming the file.

The terms carry a version. A client says which version it showed the customer; apply and
renewal refuse any other (``accepted_terms_version``) and the audit trail records the one
accepted, so a changed text must come with a new version or the trail would lie.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sync_server.errors import ConfigError, ErrorCode, ServiceError

LANGUAGES = ("zh-TW", "en")
# Short and plain: it is sent back by clients and written into the audit trail.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")

_DEFAULT_TERMS = {
    "zh-TW": (
        "網路交易憑證是您在網路下單時的身分證明：您送出的每一筆委託都以這張憑證簽章，"
        "本公司據此確認委託確實出自您本人。\n\n"
        "憑證檔（PFX 檔）及憑證密碼請自行妥善保管，切勿交付他人，也不要將密碼告訴任何人。\n\n"
        "如您的憑證檔或密碼可能已被他人知悉，請立即通知本公司，以便廢止該憑證；"
        "廢止後請重新申請憑證。\n\n"
        "憑證有效期限為一年，到期前一個月內可辦理展期；逾期未展期者，須重新申請。\n\n"
        "本公司於必要時（例如發現憑證可能遭冒用）得廢止您的憑證。"
    ),
    "en": (
        "Your online-trading certificate identifies you when you trade online: every order you "
        "send is signed with it, and that is how we know the order comes from you.\n\n"
        "Keep the certificate file (the PFX file) and its password to yourself. Never give the "
        "file to anyone, and never tell anyone the password.\n\n"
        "If someone else may know your certificate file or its password, tell us at once so "
        "that we can revoke the certificate; then apply for a new one.\n\n"
        "The certificate is valid for one year. You can renew it in the month before it "
        "expires; once it has expired, you must apply again.\n\n"
        "We may revoke your certificate when necessary, for example if we find that it may "
        "have been misused."
    ),
}


def _frozen(texts: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(texts))


@dataclass(frozen=True)
class BrokerageInfo:
    """What ``GET /api/v1/info`` says. Each text maps a language (``zh-TW``, ``en``) to words."""

    brokerage_name: Mapping[str, str] = field(
        default_factory=lambda: _frozen({"zh-TW": "壹銀證券", "en": "Yi Yin Securities"})
    )
    service_phone: str = "07-7999660"
    service_hours: Mapping[str, str] = field(
        default_factory=lambda: _frozen(
            {"zh-TW": "營業日 AM8:30~PM5:00", "en": "business days, 8:30 a.m. to 5:00 p.m."}
        )
    )
    terms_version: str = "2026-12-01"
    terms_text: Mapping[str, str] = field(default_factory=lambda: _frozen(_DEFAULT_TERMS))

    def __post_init__(self) -> None:
        for name in ("brokerage_name", "service_hours", "terms_text"):
            texts = getattr(self, name)
            if set(texts) != set(LANGUAGES):
                raise ConfigError(f"{name} needs exactly the languages {', '.join(LANGUAGES)}.")
            for language, words in texts.items():
                if not isinstance(words, str) or not words.strip():
                    raise ConfigError(f"{name}.{language} must be a non-empty string.")
            object.__setattr__(self, name, _frozen(texts))
        if not isinstance(self.service_phone, str) or not self.service_phone.strip():
            raise ConfigError("service_phone must be a non-empty string.")
        if not isinstance(self.terms_version, str) or not _VERSION.fullmatch(self.terms_version):
            raise ConfigError(
                "terms.version must be 1 to 32 letters, digits, '.', '_' or '-' "
                "(for example 2026-12-01)."
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "brokerage_name": dict(self.brokerage_name),
            "service_phone": self.service_phone,
            "service_hours": dict(self.service_hours),
            "terms": {"version": self.terms_version, "text": dict(self.terms_text)},
        }


DEFAULT_INFO = BrokerageInfo()


def _texts(value: object, where: str, default: Mapping[str, str]) -> dict[str, str]:
    """A language → text object from the file, filled from ``default``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be an object of languages ({', '.join(LANGUAGES)}).")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ConfigError(
            f"{where} has the unknown language {unknown[0]!r}; use {', '.join(LANGUAGES)}."
        )
    for language, words in value.items():
        if not isinstance(words, str) or not words.strip():
            raise ConfigError(f"{where}.{language} must be a non-empty string.")
    return {**default, **value}


def info_from_json(data: object, *, defaults: BrokerageInfo = DEFAULT_INFO) -> BrokerageInfo:
    """The info an operator's JSON describes, filled from ``defaults``; ``ConfigError`` if bad."""
    if not isinstance(data, dict):
        raise ConfigError("the file must hold one JSON object.")
    keys = ("brokerage_name", "service_phone", "service_hours", "terms")
    if unknown := sorted(set(data) - set(keys)):
        raise ConfigError(f"unknown key {unknown[0]!r}; the keys are {', '.join(keys)}.")
    name = _texts(data.get("brokerage_name", {}), "brokerage_name", defaults.brokerage_name)
    hours = _texts(data.get("service_hours", {}), "service_hours", defaults.service_hours)
    phone = data.get("service_phone", defaults.service_phone)
    if not isinstance(phone, str) or not phone.strip():
        raise ConfigError("service_phone must be a non-empty string.")
    terms = data.get("terms", {})
    if not isinstance(terms, dict):
        raise ConfigError('terms must be an object {"version": ..., "text": {...}}.')
    if unknown := sorted(set(terms) - {"version", "text"}):
        raise ConfigError(f"terms has the unknown key {unknown[0]!r}; use version and text.")
    text = _texts(terms.get("text", {}), "terms.text", defaults.terms_text)
    version = terms.get("version", defaults.terms_version)
    if not isinstance(version, str):
        raise ConfigError("terms.version must be a string.")
    if text != dict(defaults.terms_text) and version == defaults.terms_version:
        # Customers who accepted the old words would be recorded as accepting the new ones.
        raise ConfigError(
            "terms.text differs from the built-in terms, so terms.version must be given and "
            f"differ from {defaults.terms_version!r}."
        )
    return BrokerageInfo(
        brokerage_name=name,
        service_phone=phone,
        service_hours=hours,
        terms_version=version,
        terms_text=text,
    )


def load_info(path: Path) -> BrokerageInfo:
    """Read the operator's info file. Every problem is one ``ConfigError`` line naming it."""
    try:
        # utf-8-sig: a file saved by Notepad starts with a BOM, which is not an error.
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return info_from_json(data)
    except OSError as exc:
        raise ConfigError(
            f"SYNC_INFO_FILE {path} cannot be read ({exc.strerror or exc})."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"SYNC_INFO_FILE {path} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"SYNC_INFO_FILE {path} is not JSON ({exc.msg} at line {exc.lineno})."
        ) from None
    except ConfigError as exc:
        raise ConfigError(f"SYNC_INFO_FILE {path}: {exc}") from None


def accepted_terms_version(sent: str | None, *, current: str) -> str | None:
    """The terms version a client says the customer accepted: ``current``, or ``None`` when
    an older client sent none. Any other version is refused: the customer read other words."""
    if sent is None:
        return None
    if sent != current:
        raise ServiceError(
            ErrorCode.TERMS_VERSION_OUTDATED,
            "The terms have changed since you read them; read the new terms and accept them again.",
            current_version=current,
        )
    return sent


def terms_audit_detail(version: str | None) -> str:
    """How the audit trail records the terms accepted: ``terms 2026-12-01`` or ``terms unknown``."""
    return f"terms {version or 'unknown'}"

"""The JSON records kept in the store folder (``pc_client.store``): what each file holds.

    settings.json            ``StoreSettings`` (with a ``Registration`` per customer)
    session.json             ``Session``
    <ID>.pending.json        ``Pending``

Plain frozen values with ``to_json`` / ``from_json`` and nothing else: no file I/O and no
cryptography, so a command can name them without loading the store.

``from_json`` is strict: a field of the wrong type (a number where a URL belongs, ``true`` for
a security setting, a list for the registrations) raises ``RecordDamaged`` naming the field,
which the store turns into one clear refusal (``store_damaged``) instead of letting the value
travel on and fail later as a program error. A field that is absent takes its default, and
unknown fields are ignored, so files written by an older or newer version still load.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync_client.national_id import is_valid_national_id
from sync_client.security import DEFAULT_SETTING

DEFAULT_PASSWORD_MIN_LENGTH = 4
SECURITY_SETTINGS = (1, 2, 3)
LANGUAGES = ("zh-TW", "en")


class RecordDamaged(ValueError):
    """A record's field has the wrong type or value; ``field`` names it (for the message)."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"field {field_name!r} is damaged")
        self.field = field_name


def _text(data: Mapping[str, Any], key: str) -> str:
    """A required string field."""
    value = data.get(key)
    if not isinstance(value, str):
        raise RecordDamaged(key)
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    """A string field that may be absent or null (an empty string reads as absent)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordDamaged(key)
    return value or None


def _customer_id(value: object, field_name: str) -> str:
    """A customer ID as this program writes it (names files: never a path, never free text)."""
    if not isinstance(value, str) or not is_valid_national_id(value):
        raise RecordDamaged(field_name)
    return value


def _whole_number(data: Mapping[str, Any], key: str, default: int) -> int:
    """An integer field (``true`` is not one, although Python says it is an int)."""
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordDamaged(key)
    return value


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise RecordDamaged(key)
    return value


@dataclass(frozen=True)
class Registration:
    """What this program wrote as ``<ID>.pfx``: file SHA-256 → the certificate PEM inside."""

    pfx_path: str
    certificates: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.pfx_path, "certificates": dict(self.certificates)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registration:
        """Raises ``RecordDamaged`` for a field of the wrong type."""
        certs = _mapping(data, "certificates")
        if not all(isinstance(v, str) for v in certs.values()):
            raise RecordDamaged("certificates")
        return cls(pfx_path=_optional_text(data, "path") or "", certificates=dict(certs))


@dataclass(frozen=True)
class StoreSettings:
    """``settings.json``: nothing in it is secret, but it is written 0600 like the rest."""

    server_url: str | None = None
    customer_id: str | None = None
    security_setting: int = int(DEFAULT_SETTING)
    pfx_password_min_length: int = DEFAULT_PASSWORD_MIN_LENGTH  # as the server last said
    registered: Mapping[str, Registration] = field(default_factory=dict)
    language: str | None = None  # "zh-TW" or "en" once --lang was given (or the page switched)

    def to_json(self) -> dict[str, Any]:
        return {
            "server_url": self.server_url,
            "customer_id": self.customer_id,
            "security_setting": self.security_setting,
            "pfx_password_min_length": self.pfx_password_min_length,
            "registered": {cid: reg.to_json() for cid, reg in sorted(self.registered.items())},
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoreSettings:
        """Raises ``RecordDamaged`` for a field of the wrong type or out of its range."""
        setting = _whole_number(data, "security_setting", int(DEFAULT_SETTING))
        if setting not in SECURITY_SETTINGS:
            raise RecordDamaged("security_setting")
        min_length = _whole_number(data, "pfx_password_min_length", DEFAULT_PASSWORD_MIN_LENGTH)
        if min_length < 1:
            raise RecordDamaged("pfx_password_min_length")
        language = _optional_text(data, "language")
        if language is not None and language not in LANGUAGES:
            raise RecordDamaged("language")
        registered: dict[str, Registration] = {}
        for cid, reg in _mapping(data, "registered").items():
            if not isinstance(reg, dict):
                raise RecordDamaged("registered")
            registered[_customer_id(cid, "registered")] = Registration.from_json(reg)
        customer_id = _optional_text(data, "customer_id")
        return cls(
            server_url=_optional_text(data, "server_url"),
            customer_id=None if customer_id is None else _customer_id(customer_id, "customer_id"),
            security_setting=setting,
            pfx_password_min_length=min_length,
            registered=registered,
            language=language,
        )


@dataclass(frozen=True, repr=False)
class Session:
    """``session.json``. ``security_setting`` is copied from the settings at login: a setting
    chosen later takes effect from the next login. Whether setting 2 already asked in this
    session is told by its key agent (``session-agent.json``), not recorded here."""

    token: str
    customer_id: str
    server_url: str
    expires_at: str
    security_setting: int

    def __repr__(self) -> str:
        return f"Session(customer_id={self.customer_id!r}, server_url={self.server_url!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "customer_id": self.customer_id,
            "server_url": self.server_url,
            "expires_at": self.expires_at,
            "security_setting": self.security_setting,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        """Raises ``RecordDamaged`` for a missing field or one of the wrong type."""
        setting = _whole_number(data, "security_setting", int(DEFAULT_SETTING))
        if setting not in SECURITY_SETTINGS:
            raise RecordDamaged("security_setting")
        return cls(
            token=_text(data, "token"),
            customer_id=_customer_id(data.get("customer_id"), "customer_id"),
            server_url=_text(data, "server_url"),
            expires_at=_optional_text(data, "expires_at") or "",
            security_setting=setting,
        )


@dataclass(frozen=True, repr=False)
class Pending:
    """An apply or renewal in flight. ``sealed_key`` is the new private key in a key-only
    PKCS#12 under the NEW PFX password (``sync_client.keys.seal_private_key``: the PFX's own
    profile and iteration count), so the file alone unlocks nothing; ``csr_pem`` and (renewal)
    the challenge and signature are kept so that a retry sends exactly the same request, which
    the server answers idempotently."""

    operation: str  # "apply" or "renew"
    customer_id: str
    created_at: str
    sealed_key: bytes
    csr_pem: str
    challenge_id: str | None = None
    nonce: str | None = None
    signature_b64: str | None = None

    def __repr__(self) -> str:
        return f"Pending(operation={self.operation!r}, customer_id={self.customer_id!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "customer_id": self.customer_id,
            "created_at": self.created_at,
            "sealed_key": base64.b64encode(self.sealed_key).decode("ascii"),
            "csr_pem": self.csr_pem,
            "challenge_id": self.challenge_id,
            "nonce": self.nonce,
            "signature": self.signature_b64,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pending:
        """Raises ``RecordDamaged`` for a missing field or one of the wrong type."""
        operation = _text(data, "operation")
        if operation not in ("apply", "renew"):
            raise RecordDamaged("operation")
        try:
            sealed_key = base64.b64decode(_text(data, "sealed_key"), validate=True)
        except ValueError:  # binascii.Error, and non-ASCII text
            raise RecordDamaged("sealed_key") from None
        return cls(
            operation=operation,
            customer_id=_customer_id(data.get("customer_id"), "customer_id"),
            created_at=_optional_text(data, "created_at") or "",
            sealed_key=sealed_key,
            csr_pem=_text(data, "csr_pem"),
            challenge_id=_optional_text(data, "challenge_id"),
            nonce=_optional_text(data, "nonce"),
            signature_b64=_optional_text(data, "signature"),
        )

"""The JSON records kept in the store folder (``pc_client.store``): what each file holds.

    settings.json            ``StoreSettings`` (with a ``Registration`` per customer)
    session.json             ``Session``
    <ID>.pending.json        ``Pending``

Plain frozen values with ``to_json`` / ``from_json`` and nothing else: no file I/O and no
cryptography, so a command can name them without loading the store.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync_client.security import DEFAULT_SETTING

DEFAULT_PASSWORD_MIN_LENGTH = 4


@dataclass(frozen=True)
class Registration:
    """What this program wrote as ``<ID>.pfx``: file SHA-256 → the certificate PEM inside."""

    pfx_path: str
    certificates: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.pfx_path, "certificates": dict(self.certificates)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Registration:
        certs = data.get("certificates", {})
        return cls(
            pfx_path=str(data.get("path", "")),
            certificates={str(k): str(v) for k, v in certs.items()}
            if isinstance(certs, dict)
            else {},
        )


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
        registered = data.get("registered", {})
        setting = data.get("security_setting", int(DEFAULT_SETTING))
        min_length = data.get("pfx_password_min_length", DEFAULT_PASSWORD_MIN_LENGTH)
        language = data.get("language")
        return cls(
            server_url=data.get("server_url") or None,
            customer_id=data.get("customer_id") or None,
            security_setting=setting if setting in (1, 2, 3) else int(DEFAULT_SETTING),
            pfx_password_min_length=min_length
            if isinstance(min_length, int)
            else DEFAULT_PASSWORD_MIN_LENGTH,
            registered={
                str(cid): Registration.from_json(reg)
                for cid, reg in registered.items()
                if isinstance(reg, dict)
            }
            if isinstance(registered, dict)
            else {},
            language=language if language in ("zh-TW", "en") else None,
        )


@dataclass(frozen=True, repr=False)
class Session:
    """``session.json``. ``security_setting`` is copied from the settings at login: a setting
    chosen later takes effect from the next login. Whether setting 2 already asked in this
    session is told by ``session-key``, not recorded here."""

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
        return cls(
            token=str(data["token"]),
            customer_id=str(data["customer_id"]),
            server_url=str(data["server_url"]),
            expires_at=str(data.get("expires_at", "")),
            security_setting=int(data.get("security_setting", int(DEFAULT_SETTING))),
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
        """Raises ``KeyError``, ``TypeError`` or ``ValueError`` for a damaged record."""
        return cls(
            operation=str(data["operation"]),
            customer_id=str(data["customer_id"]),
            created_at=str(data.get("created_at", "")),
            sealed_key=base64.b64decode(str(data["sealed_key"]), validate=True),
            csr_pem=str(data["csr_pem"]),
            challenge_id=data.get("challenge_id"),
            nonce=data.get("nonce"),
            signature_b64=data.get("signature"),
        )

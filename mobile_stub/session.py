"""The phone's login session, kept between commands, and its unlocked key for setting 2.

A phone app keeps the unlocked key in memory from the first order until logout. The stand-in is
one process per command, so for setting 2 ("ask on the first order after each login") it keeps
the key between commands *re-encrypted* under a random secret that exists only as long as the
login: the secret sits in ``session.json``, the re-encrypted key in ``session-unlock.json``,
and logout, a new login, or a new certificate in the keystore makes both useless. The PFX
password itself is never written, and the key is never written unencrypted.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mobile_stub.errors import NotLoggedIn, PhoneStoreCorrupt
from mobile_stub.store import PhoneHome, read_json, remove_file, write_json_private
from sync_client.errors import ClientError
from sync_client.keys import (
    PrivateKey,
    decrypt_private_key_pem,
    encrypt_private_key_pem,
    key_matches_certificate,
)
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting

UNLOCK_SECRET_BYTES = 32


@dataclass(frozen=True, repr=False)
class PhoneSession:
    """A mobile session: where, who, the bearer token, and the setting this login runs under."""

    server_url: str
    customer_id: str
    token: str
    expires_at: datetime
    security_setting: SecuritySetting
    unlock_secret: str

    def __repr__(self) -> str:
        return (
            f"PhoneSession(server_url={self.server_url!r}, customer_id={self.customer_id!r}, "
            f"security_setting={int(self.security_setting)})"
        )


def new_unlock_secret() -> str:
    """A fresh secret for one login's unlocked key."""
    return base64.urlsafe_b64encode(secrets.token_bytes(UNLOCK_SECRET_BYTES)).decode("ascii")


def save_session(home: PhoneHome, session: PhoneSession) -> None:
    """Start a login on this phone: write the session and forget any earlier unlocked key."""
    home.ensure()
    remove_file(home.unlock_file)
    write_json_private(
        home.session_file,
        {
            "server_url": session.server_url,
            "customer_id": session.customer_id,
            "token": session.token,
            "expires_at": format_time(session.expires_at),
            "security_setting": int(session.security_setting),
            "unlock_secret": session.unlock_secret,
        },
    )


def load_session(home: PhoneHome) -> PhoneSession | None:
    """The phone's session, or ``None`` when nobody is logged in."""
    data = read_json(home.session_file)
    if data is None:
        return None
    try:
        return PhoneSession(
            server_url=str(data["server_url"]),
            customer_id=str(data["customer_id"]),
            token=str(data["token"]),
            expires_at=parse_time(str(data["expires_at"])),
            security_setting=SecuritySetting.parse(data["security_setting"]),
            unlock_secret=str(data["unlock_secret"]),
        )
    except (KeyError, ValueError, ClientError):
        raise PhoneStoreCorrupt(
            f"The session file {home.session_file} is damaged; log in again."
        ) from None


def require_session(home: PhoneHome) -> PhoneSession:
    """The phone's session, or ``NotLoggedIn``."""
    session = load_session(home)
    if session is None:
        raise NotLoggedIn("The phone is not logged in; run: mobile-stub login <customer ID>.")
    return session


def end_session(home: PhoneHome) -> bool:
    """Forget the session and its unlocked key; whether there was a session."""
    remove_file(home.unlock_file)
    return remove_file(home.session_file)


# -- setting 2: the unlocked key for the rest of this login -------------------------------


def pfx_digest(pfx_bytes: bytes) -> str:
    return hashlib.sha256(pfx_bytes).hexdigest()


def keep_unlocked_key(
    home: PhoneHome,
    session: PhoneSession,
    *,
    pfx_bytes: bytes,
    key: PrivateKey,
    cert: x509.Certificate,
) -> None:
    """Remember ``key`` until logout, encrypted under the session's secret."""
    write_json_private(
        home.unlock_file,
        {
            "customer_id": session.customer_id,
            "pfx_sha256": pfx_digest(pfx_bytes),
            "key_pem": encrypt_private_key_pem(key, session.unlock_secret).decode("ascii"),
            "cert_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        },
    )


def unlocked_key(
    home: PhoneHome, session: PhoneSession, *, pfx_bytes: bytes
) -> tuple[PrivateKey, x509.Certificate] | None:
    """The key unlocked earlier in this login for exactly this PFX, or ``None``.

    Anything that does not fit (another customer, another PFX, another login's secret, a damaged
    file) means "not unlocked": the caller asks for the password again and overwrites it.
    """
    try:
        data = read_json(home.unlock_file)
    except PhoneStoreCorrupt:
        return None
    if (
        data is None
        or data.get("customer_id") != session.customer_id
        or data.get("pfx_sha256") != pfx_digest(pfx_bytes)
    ):
        return None
    try:
        key = decrypt_private_key_pem(str(data["key_pem"]).encode("ascii"), session.unlock_secret)
        cert = x509.load_pem_x509_certificate(str(data["cert_pem"]).encode("ascii"))
    except (KeyError, ValueError, UnicodeEncodeError, ClientError):
        return None
    if not key_matches_certificate(key, cert):
        return None
    return key, cert

"""The phone's login session, kept between commands, and its unlocked key for setting 2.

A phone app keeps the unlocked key in memory from the first order until logout. The stand-in is
one process per command, so for setting 2 ("ask on the first order after each login") the key
waits between commands in ``session-key``, sealed under the login session's unlock secret
(``sync_client.session_key``, the same design as ``pc-client``). Only the server holds that
secret; it hands it to this session's token alone and forgets it at logout, so the file never
opens from the disk alone, and never again once the session has ended. Logout and a new login
delete it; a new certificate in the keystore makes it useless (the seal names the
certificate). The PFX password is never written, and the key is never written unsealed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from mobile_stub.errors import PhoneStoreCorrupt
from mobile_stub.store import (
    MAX_STATE_FILE_BYTES,
    PhoneHome,
    read_json,
    remove_file,
    write_json_private,
)
from sync_client.api import SyncClient
from sync_client.errors import (
    ClientError,
    InvalidInput,
    NotLoggedIn,
    ServerRefused,
    SessionKeyInvalid,
)
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import msg
from sync_client.keys import PrivateKey, certificate_fingerprint, key_matches_certificate
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting
from sync_client.session_key import unwrap_session_key, wrap_session_key


@dataclass(frozen=True, repr=False)
class PhoneSession:
    """A mobile session: where, who, the bearer token, and the setting this login runs under."""

    server_url: str
    customer_id: str
    token: str
    expires_at: datetime
    security_setting: SecuritySetting

    def __repr__(self) -> str:
        return (
            f"PhoneSession(server_url={self.server_url!r}, customer_id={self.customer_id!r}, "
            f"security_setting={int(self.security_setting)})"
        )


def save_session(home: PhoneHome, session: PhoneSession) -> None:
    """Start a login on this phone: forget any earlier unlocked key, then write the session."""
    home.ensure()
    remove_file(home.session_key_file)
    write_json_private(
        home.session_file,
        {
            "server_url": session.server_url,
            "customer_id": session.customer_id,
            "token": session.token,
            "expires_at": format_time(session.expires_at),
            "security_setting": int(session.security_setting),
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
        )
    except (KeyError, ValueError, ClientError):
        raise PhoneStoreCorrupt(msg("phone.session.damaged", path=home.session_file)) from None


def require_session(home: PhoneHome) -> PhoneSession:
    """The phone's session, or ``NotLoggedIn``."""
    session = load_session(home)
    if session is None:
        raise NotLoggedIn(msg("phone.session.not_logged_in"))
    return session


def end_session(home: PhoneHome) -> bool:
    """Forget the unlocked key and the session; whether there was a session."""
    remove_file(home.session_key_file)
    return remove_file(home.session_file)


# -- setting 2: the unlocked key for the rest of this login -------------------------------


def pfx_digest(pfx_bytes: bytes) -> str:
    return hashlib.sha256(pfx_bytes).hexdigest()


def keep_unlocked_key(
    home: PhoneHome,
    session: PhoneSession,
    client: SyncClient,
    *,
    key: PrivateKey,
    cert: x509.Certificate,
) -> None:
    """Keep ``key`` until logout, sealed under the session's unlock secret.

    A failure (the server refused the secret, the disk) only means the next order asks again.
    ``ServerUnreachable`` is a failure like any other here: the order was already accepted.
    """
    try:
        sealed = wrap_session_key(
            key,
            client.unlock_secret(),
            customer_id=session.customer_id,
            cert_fingerprint=certificate_fingerprint(cert),
        )
        home.ensure()
        write_file_atomic(home.session_key_file, sealed)
    except (ClientError, OSError):
        pass


def unlocked_key(
    home: PhoneHome, session: PhoneSession, client: SyncClient, *, cert: x509.Certificate
) -> PrivateKey | None:
    """The key unlocked earlier in this login for exactly ``cert``, or ``None``.

    Anything that does not fit (no file, another customer or certificate, a session the server
    no longer accepts, a damaged file) means "not unlocked": the caller asks for the password
    again and overwrites the file. ``ServerUnreachable`` passes through: the order could not be
    sent either, so asking for the password would be for nothing.
    """
    try:
        if not home.session_key_file.is_file():
            return None
        sealed = read_file_limited(home.session_key_file, MAX_STATE_FILE_BYTES)
        key = unwrap_session_key(
            sealed,
            client.unlock_secret(),
            customer_id=session.customer_id,
            cert_fingerprint=certificate_fingerprint(cert),
        )
    except (InvalidInput, ServerRefused, SessionKeyInvalid):
        return None
    return key if key_matches_certificate(key, cert) else None

"""The phone's login session, kept between commands, and its unlocked key for setting 2.

A phone app keeps the unlocked key in memory from the first order until logout. The stand-in is
one process per command, so for setting 2 ("ask on the first order after each login") the key
waits between commands in a key agent (``sync_client.key_agent``, the one ``pc-client`` uses):
a local process of its own that holds the key in memory and signs order bytes on request. The
phone's home keeps only the agent's handle (``session-agent.json``: socket path, nonce, pid),
which opens nothing without the running agent, so a copy of the home (a backup, another
machine) never signs without the PFX password. Logout and a new login tell the agent to end;
it also ends at the session's expiry and after an idle timeout; a new certificate in the
keystore makes it useless (it signs for one certificate only). The PFX password is never
written, and neither is the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from mobile_stub.errors import PhoneStoreCorrupt
from mobile_stub.store import (
    PhoneHome,
    read_json,
    remove_file,
    write_json_private,
)
from sync_client.api import SyncClient
from sync_client.errors import ClientError, NotLoggedIn, SessionKeyInvalid
from sync_client.i18n import msg
from sync_client.key_agent import AgentHandle, agent_key, check_agent, start_agent, stop_agent
from sync_client.keys import PrivateKey, certificate_fingerprint
from sync_client.pinning import (
    PIN_FILE_NAME,
    PinCheck,
    PinOutcome,
    check_server_ca,
    record_pin,
)
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting

# What an older version of the stand-in kept for setting 2 (the key sealed under a server
# secret that no longer exists); removed wherever the agent's handle is.
LEGACY_SESSION_KEY_FILE = "session-key"


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
    """Start a login on this phone: end the earlier login's key agent, then write the session."""
    home.ensure()
    end_key_agent(home)
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
    """End the key agent and forget the session; whether there was a session."""
    end_key_agent(home)
    return remove_file(home.session_file)


def pin_login_ca(
    home: PhoneHome, client: SyncClient, server_url: str, *, accept_new: bool
) -> PinCheck:
    """Before the login password is sent: the server's CA against the phone's pin
    (``sync_client.pinning``; ``CaChanged`` for another CA unless ``accept_new``). Nothing is
    written: ``keep_login_pin`` records it once the login succeeded."""
    return check_server_ca(
        client, home.root / PIN_FILE_NAME, server_url, accept_new=accept_new, record=False
    )


def keep_login_pin(home: PhoneHome, check: PinCheck) -> None:
    """After a successful login: keep the CA ``pin_login_ca`` found (first use, accepted)."""
    home.ensure()
    record_pin(home.root / PIN_FILE_NAME, check)


def pin_sentence(check: PinCheck) -> str | None:
    """What the login says about the CA: its fingerprint when it was pinned now."""
    if check.outcome is PinOutcome.PINNED:
        return msg("login.ca_pinned", fingerprint=check.shown)
    if check.outcome is PinOutcome.REPINNED:
        return msg("login.ca_repinned", fingerprint=check.shown)
    return None


# -- setting 2: the unlocked key for the rest of this login -------------------------------


def pfx_digest(pfx_bytes: bytes) -> str:
    return hashlib.sha256(pfx_bytes).hexdigest()


def load_agent_handle(home: PhoneHome) -> AgentHandle | None:
    """The handle of this login's key agent, or ``None`` (also for a damaged file: the next
    order then asks for the password, as without an agent)."""
    try:
        data = read_json(home.session_agent_file)
        return None if data is None else AgentHandle.from_json(data)
    except (ClientError, OSError, KeyError, TypeError, ValueError):
        return None


def end_key_agent(home: PhoneHome) -> None:
    """Tell this phone's key agent to end (if one is there) and forget its handle, and a
    sealed key an older version of the stand-in left (``session-key``)."""
    handle = load_agent_handle(home)
    if handle is not None:
        stop_agent(handle)
    remove_file(home.session_agent_file)
    remove_file(home.root / LEGACY_SESSION_KEY_FILE)


def keep_unlocked_key(
    home: PhoneHome, session: PhoneSession, *, key: PrivateKey, cert: x509.Certificate
) -> None:
    """Hand ``key`` to a new key agent for the rest of this login, replacing an earlier one.

    The agent holds it in memory until logout, a new login, the session's expiry or its idle
    timeout; the phone's home keeps only the agent's handle. A failure (no agent could start,
    the disk) only means that the next order asks again.
    """
    end_key_agent(home)
    try:
        handle = start_agent(
            key, cert_fingerprint=certificate_fingerprint(cert), expires_at=session.expires_at
        )
    except ClientError:
        return
    try:
        home.ensure()
        write_json_private(home.session_agent_file, handle.to_json())
    except (ClientError, OSError):
        stop_agent(handle)  # no handle, no use: do not leave it holding the key


def unlocked_key(home: PhoneHome, *, cert: x509.Certificate) -> PrivateKey | None:
    """A key that signs through this login's key agent for exactly ``cert``, or ``None``.

    Anything that does not fit (no handle, no agent any more, an agent for another
    certificate, a damaged handle) means "not unlocked": the caller asks for the password
    again and starts a new agent. Nothing here talks to the server.
    """
    handle = load_agent_handle(home)
    if handle is None:
        return None
    fingerprint = certificate_fingerprint(cert)
    try:
        check_agent(handle, cert_fingerprint=fingerprint)
        return agent_key(handle, cert.public_key(), cert_fingerprint=fingerprint)
    except SessionKeyInvalid:
        return None

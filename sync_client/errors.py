"""Errors raised by the SDK, each with a stable machine ``code``, and the clients' shared codes.

    ClientError                      base: code + one-sentence message
    ├── InvalidInput                 a value the user typed or a file they chose is not acceptable
    │   ├── InvalidNationalId        the customer ID fails its format or check digit
    │   ├── IterationsBelowFloor     a KDF iteration count below ``sync_client.kdf_floor``'s
    │   ├── ServerUrlInvalid         ``--server`` is not a usable URL (or plain HTTP elsewhere)
    │   └── InputMissing             standard input ended before a prompt's answer
    ├── NotLoggedIn                  no session on this device (or one for another server)
    ├── WrongServer                  a server other than the session's was named
    │   └── QrOtherServer            … by a QR code (also a ``QrPayloadError``)
    ├── PasswordNotRemembered        security setting 3, but the credential store holds no
    │                                PFX password
    ├── CredentialStoreUnavailable   security setting 3 needs a credential store this system
    │                                lacks
    ├── PfxError                     a PKCS#12 file cannot be used (code ``pfx_invalid``)
    │   ├── WrongPfxPassword         the password does not open it, nor a pending encrypted key
    │   │                            (code ``wrong_password``)
    │   └── PfxInvalid               not a PKCS#12 file, or no key/certificate, or they do not match
    ├── EnvelopeError                relay ciphertext fails to decrypt (tampered, wrong key,
    │                                slot or customer)
    ├── SessionKeyInvalid            a key kept for the login session does not open (another
    │                                session's secret, customer or certificate; tampered)
    ├── QrPayloadError               a QR payload that is not a CertSync pairing link
    ├── ServerUnreachable            no HTTP answer from the server URL (the URL is named)
    ├── CaChanged                    the server's CA is not the one pinned at first login
    └── ServerRefused                the server answered with its error shape; ``code`` is the
                                     server's (an ``ErrorCode`` when this client knows it), or
                                     ``bad_response`` for an answer not in the protocol's shape

Codes are what tests and the CLIs branch on; messages are for people and may change.

Where the codes live: the server's are ``sync_client.codes.ErrorCode``; the codes the clients
decide themselves are members of an enum, one per package — ``ClientCode`` here (shared by both
clients and the command-line runner), ``pc_client.errors.PcCode``, ``mobile_stub.errors.PhoneCode``
— and no value is in two of them (``tests/test_error_codes.py``). A class names its code once
(``code = ClientCode.…``); a raise site that needs a more precise code than its class passes a
member (``PcRefusal(message, code=PcCode.FILE_EXISTS)``), never a string. A local refusal that
means what a server code means (a PC refusing to apply without the terms) uses the server's
member (``ErrorCode.TERMS_NOT_ACCEPTED``), so a script sees one code for one condition.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sync_client.codes import ErrorCode


class ClientCode(StrEnum):
    """The codes the clients decide on their own, shared by ``pc-client`` and ``mobile-stub``."""

    CLIENT_ERROR = "client_error"
    INVALID_INPUT = "invalid_input"
    INPUT_MISSING = "input_missing"
    NOT_LOGGED_IN = "not_logged_in"
    WRONG_SERVER = "wrong_server"
    PASSWORD_NOT_REMEMBERED = "password_not_remembered"  # noqa: S105 (a code, not a password)
    CREDENTIAL_STORE_UNAVAILABLE = "credential_store_unavailable"
    PFX_INVALID = "pfx_invalid"
    PFX_WRONG_CUSTOMER = "pfx_wrong_customer"
    PFX_FOREIGN_CA = "pfx_foreign_ca"  # the certificate was not issued by the brokerage's CA
    KDF_BELOW_FLOOR = "kdf_below_floor"  # fewer PBKDF2 rounds than ``sync_client.kdf_floor``
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a code, not a password)
    ENVELOPE_INVALID = "envelope_invalid"
    SESSION_KEY_INVALID = "session_key_invalid"
    QR_PAYLOAD_INVALID = "qr_payload_invalid"
    SERVER_UNREACHABLE = "server_unreachable"
    SERVER_URL_INVALID = "server_url_invalid"  # --server is not a usable http(s) URL
    INSECURE_HTTP = "insecure_http"  # plain http:// to a host that is not this computer
    CA_CHANGED = "ca_changed"  # the server's CA is not the one this device first pinned
    BAD_RESPONSE = "bad_response"  # the server answered, but not in the protocol's shape
    # The command-line runner's own (``sync_client.cli_runner``).
    USAGE = "usage"
    INTERRUPTED = "interrupted"


class ClientError(Exception):
    """Base of every error the SDK raises on purpose."""

    code: str = ClientCode.CLIENT_ERROR

    def __init__(self, message: str, *, code: StrEnum | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(ClientError):
    code: str = ClientCode.INVALID_INPUT


class InvalidNationalId(InvalidInput):
    code = ErrorCode.INVALID_NATIONAL_ID


class IterationsBelowFloor(InvalidInput):
    """Fewer PBKDF2 iterations than the floor allows (``sync_client.kdf_floor``); a setting
    that asks for it is the operator's to fix (``pc-client`` exits 2)."""

    code = ClientCode.KDF_BELOW_FLOOR


class InputMissing(InvalidInput):
    """Standard input ended before the answer to a prompt (``sync_client.prompts``)."""

    code = ClientCode.INPUT_MISSING


class NotLoggedIn(ClientError):
    """No login session on this device, or one for another server."""

    code = ClientCode.NOT_LOGGED_IN


class WrongServer(ClientError):
    """A server other than the one the session belongs to was named (the token stays home)."""

    code = ClientCode.WRONG_SERVER


class PasswordNotRemembered(ClientError):
    """Security setting 3 (never ask), but the credential store holds no PFX password."""

    code = ClientCode.PASSWORD_NOT_REMEMBERED


class CredentialStoreUnavailable(ClientError):
    """Security setting 3 needs the system's credential store, and there is none."""

    code = ClientCode.CREDENTIAL_STORE_UNAVAILABLE


class PfxError(ClientError):
    code = ClientCode.PFX_INVALID


class WrongPfxPassword(PfxError):
    code = ClientCode.WRONG_PASSWORD


class PfxInvalid(PfxError):
    """Not a usable PKCS#12 file (code ``pfx_invalid``, or ``pfx_wrong_customer`` when it
    names another customer, or ``pfx_foreign_ca`` when the brokerage's CA did not issue it)."""


class EnvelopeError(ClientError):
    code = ClientCode.ENVELOPE_INVALID


class SessionKeyInvalid(ClientError):
    code = ClientCode.SESSION_KEY_INVALID


class QrPayloadError(ClientError):
    code = ClientCode.QR_PAYLOAD_INVALID


class QrOtherServer(WrongServer, QrPayloadError):
    """The QR code names another server than the one the phone is logged in to."""


class ServerUnreachable(ClientError):
    """No HTTP answer; ``details["cause"]`` says why in a word (``sync_client.api.Cause``)."""

    code = ClientCode.SERVER_UNREACHABLE

    def __init__(self, message: str, *, cause: str | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = {"cause": cause} if cause is not None else {}


class ServerUrlInvalid(InvalidInput):
    """``--server`` (or the remembered URL) is not usable (code ``server_url_invalid``, or
    ``insecure_http`` for plain HTTP to another computer without ``--insecure-http``)."""

    code = ClientCode.SERVER_URL_INVALID


class CaChanged(ClientError):
    """The server's CA is not the one this device pinned when it first logged in there
    (``sync_client.pinning``)."""

    code = ClientCode.CA_CHANGED


class ServerRefused(ClientError):
    """The server refused a request; ``code`` and ``message`` are the server's own.

    ``code`` is the ``ErrorCode`` member when this client knows the code (compare with
    members: ``exc.code == ErrorCode.SLOT_EXPIRED``), else the server's string as it came.
    ``advice`` is what the client adds to the server's sentence (whom to call); it is shown
    after the catalogue's sentence for the code (``sync_client.refusals.user_message``).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int,
        details: dict[str, Any] | None = None,
        advice: str = "",
    ) -> None:
        super().__init__(message)
        self.code = _known(code)
        self.status = status
        self.details = details or {}
        self.advice = advice

    def with_advice(self, advice: str) -> ServerRefused:
        """The same refusal, with ``advice`` to show after its sentence."""
        return ServerRefused(
            self.code, self.message, status=self.status, details=self.details, advice=advice
        )


def _known(code: str) -> str:
    """The ``ErrorCode`` or ``ClientCode`` member for ``code``, else ``code`` as it came."""
    for vocabulary in (ErrorCode, ClientCode):
        member = vocabulary._value2member_map_.get(code)
        if isinstance(member, str):
            return member
    return code

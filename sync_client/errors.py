"""Errors raised by the SDK, each with a stable machine ``code``.

    ClientError                      base: code + one-sentence message
    ├── InvalidInput                 a value the user typed or a file they chose is not acceptable
    │   └── InvalidNationalId        the customer ID fails its format or check digit
    ├── PfxError                     a PKCS#12 file cannot be used
    │   ├── WrongPfxPassword         the password does not open it, nor a pending encrypted key
    │   │                            (code ``wrong_password``)
    │   └── PfxInvalid               not a PKCS#12 file, or no key/certificate, or they do not match
    ├── EnvelopeError                relay ciphertext fails to decrypt (tampered, wrong key,
    │                                slot or customer)
    ├── SessionKeyInvalid            a key kept for the login session does not open (another
    │                                session's secret, customer or certificate; tampered)
    ├── QrPayloadError               a QR payload that is not a CertSync pairing link
    ├── ServerUnreachable            no HTTP answer from the server URL (the URL is named)
    └── ServerRefused                the server answered with its error shape; ``code`` is the
                                     server's

Codes are what tests and the CLIs branch on; messages are for people and may change.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of every error the SDK raises on purpose."""

    code = "client_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(ClientError):
    code = "invalid_input"


class InvalidNationalId(InvalidInput):
    code = "invalid_national_id"


class PfxError(ClientError):
    code = "pfx_invalid"


class WrongPfxPassword(PfxError):
    code = "wrong_password"


class PfxInvalid(PfxError):
    code = "pfx_invalid"


class EnvelopeError(ClientError):
    code = "envelope_invalid"


class SessionKeyInvalid(ClientError):
    code = "session_key_invalid"


class QrPayloadError(ClientError):
    code = "qr_payload_invalid"


class ServerUnreachable(ClientError):
    code = "server_unreachable"


class ServerRefused(ClientError):
    """The server refused a request; ``code`` and ``message`` are the server's own."""

    def __init__(
        self, code: str, message: str, *, status: int, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.details = details or {}

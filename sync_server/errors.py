"""Every refusal the server makes, with a stable code and an HTTP status.

    ServiceError (code, status, message, details)
    ├── BadRequest            400 bad_request and the other input codes
    ├── Unauthenticated       401
    ├── Forbidden             403
    ├── NotFound              404
    ├── Conflict              409
    ├── Gone                  410
    ├── PayloadTooLarge       413
    ├── Locked                423
    └── NotReady              503 (``/readyz``)
    ConfigError (code)        what an operator must fix: settings, CA files, the database,
                              the port, a backup (not an HTTP error; the CLI prints the code)

The app renders every ``ServiceError`` through one handler as
``{"error": code, "message": message, "details": {...}}``. docs/PROTOCOL.md lists the codes.
Messages are full sentences and never contain a secret.
"""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """The operator's configuration is unusable; the message says what to fix.

    ``code`` is stable for scripts and tests (``config`` unless a more precise one applies:
    ``ca_missing``, ``database_behind``, ``port_in_use``, ``backup_damaged``…; docs/OPERATIONS.md
    lists them). The message is one line and never holds a secret.
    """

    def __init__(self, message: str, *, code: str = "config") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(ServiceError):
    status = 400


class Unauthenticated(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Gone(ServiceError):
    status = 410


class PayloadTooLarge(ServiceError):
    status = 413


class Locked(ServiceError):
    status = 423


class NotReady(ServiceError):
    status = 503

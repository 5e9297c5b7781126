"""Every refusal the server makes, with a stable code and an HTTP status.

    ServiceError (code: ErrorCode, message, details)    refused on the wire, with the HTTP
                                                        status of its code (``code.status``)
    ConfigError (code: ConfigCode, message)             what an operator must fix: settings, CA
                                                        files, the database, the port, a backup
                                                        (not an HTTP error; the CLI prints it)

The wire codes are ``sync_client.codes.ErrorCode``, defined once for the server and the clients;
each member carries the HTTP status it is answered with, so a refusal names only its code. The
operator's codes are ``ConfigCode`` below (docs/OPERATIONS.md lists exactly these; a test holds
the two together). The app renders every ``ServiceError`` through one handler as
``{"error": code, "message": message, "details": {...}}``. Messages are full sentences and never
contain a secret.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sync_client.codes import ErrorCode

__all__ = ["ConfigCode", "ConfigError", "ErrorCode", "ServiceError", "error_code"]


class ConfigCode(StrEnum):
    """What is wrong with an operator's configuration: one stable code per thing to fix."""

    CONFIG = "config"  # a setting is malformed; the message names it
    PORT_IN_USE = "port_in_use"
    TLS_UNREADABLE = "tls_unreadable"
    CA_MISSING = "ca_missing"
    CA_UNREADABLE = "ca_unreadable"
    CA_PASSPHRASE_NEEDED = "ca_passphrase_needed"  # noqa: S105  (a code, not a passphrase)
    CA_PASSPHRASE_UNEXPECTED = "ca_passphrase_unexpected"  # noqa: S105
    CA_INVALID = "ca_invalid"
    CA_MISMATCH = "ca_mismatch"
    CA_EXPIRED = "ca_expired"
    NO_DATABASE = "no_database"
    DATABASE_MISSING = "database_missing"
    DATABASE_REFUSED = "database_refused"
    DATABASE_UNREACHABLE = "database_unreachable"
    DISK_FULL = "disk_full"  # the database cannot even be opened: no room for SQLite's files
    DATABASE_BEHIND = "database_behind"
    DATABASE_NEWER = "database_newer"
    DATABASE_FOREIGN = "database_foreign"
    UPGRADE_FAILED = "upgrade_failed"
    BACKUP_TARGET = "backup_target"
    BACKUP_FAILED = "backup_failed"
    PG_TOOL_MISSING = "pg_tool_missing"
    BACKUP_DAMAGED = "backup_damaged"
    BACKUP_MISMATCH = "backup_mismatch"
    RESTORE_TARGET_NOT_EMPTY = "restore_target_not_empty"
    RESTORE_FAILED = "restore_failed"
    # ``admin``: a password piped twice, the two lines different (nothing is changed)
    PASSWORD_CONFIRMATION_DIFFERS = "password_confirmation_differs"  # noqa: S105


class ConfigError(Exception):
    """The operator's configuration is unusable; the message says what to fix.

    ``code`` is stable for scripts and tests (``config`` unless a more precise one applies).
    A plain string is looked up in ``ConfigCode`` (an unknown one is a bug: ``ValueError``).
    The message is one line and never holds a secret.
    """

    def __init__(self, message: str, *, code: ConfigCode | str = ConfigCode.CONFIG) -> None:
        super().__init__(message)
        self.code = ConfigCode(code)
        self.message = message


def error_code(code: ErrorCode | str) -> ErrorCode:
    """The member for a wire code or its string; ``ValueError`` for one not in the vocabulary."""
    if isinstance(code, ErrorCode):
        return code
    member = ErrorCode._value2member_map_.get(code)
    if not isinstance(member, ErrorCode):
        raise ValueError(f"{code!r} is not a wire error code (sync_client.codes.ErrorCode).")
    return member


class ServiceError(Exception):
    """A refusal answered on the wire: ``code``, its HTTP ``status``, a message, details."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = error_code(code)
        self.status: int = self.code.status
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code.value, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

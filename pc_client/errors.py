"""Refusals that ``pc-client`` decides on this PC, each with a stable machine ``code``.

They extend the SDK's tree (``sync_client.errors``), so the command line handles every known
error through one ``except ClientError``::

    ClientError (sync_client)
    ├── InvalidInput (sync_client)
    │   ├── InputMissing (sync_client)  standard input ended before a prompt's answer
    │   └── PasswordRejected            a new PFX password breaks a rule (the code says which)
    ├── NotLoggedIn (sync_client)       no session on this PC (or one for another server)
    └── PcRefusal                       a command cannot run in the present state (the code
        │                               says why)
        ├── NoLocalCertificate          no ``<ID>.pfx`` in the store folder
        ├── CertificateMismatch         the local certificate is not the host's current valid one
        └── StoreUnusable               the store folder or one of its files cannot be used

The SDK's ``WrongPfxPassword``, ``PfxInvalid``, ``ServerUnreachable`` and ``ServerRefused``
(which carries the server's own code) pass through unchanged. Messages come from
``pc_client.messages``; tests assert codes, not wording.

Every code this PC decides is a member of ``PcCode`` below (a class names its own; a raise site
that needs a more precise one passes the member: ``PcRefusal(text, code=PcCode.FILE_EXISTS)``).
Codes both clients decide are the SDK's ``ClientCode``; a local refusal that foretells a server
refusal uses the server's ``ErrorCode`` member (``renewal_not_open``).
"""

from __future__ import annotations

from enum import StrEnum

from sync_client.errors import ClientError, InputMissing, InvalidInput, NotLoggedIn

__all__ = [
    "CertificateMismatch",
    "InputMissing",
    "NoLocalCertificate",
    "NotLoggedIn",
    "PasswordRejected",
    "PcCode",
    "PcRefusal",
    "StoreUnusable",
]


class PcCode(StrEnum):
    """The codes of ``pc-client``'s own refusals and outcomes."""

    # a new PFX password (``pc_client.passwords``)
    PASSWORD_REJECTED = "password_rejected"  # noqa: S105 (codes, not passwords)
    PASSWORD_TOO_SHORT = "password_too_short"  # noqa: S105
    PASSWORD_TOO_LONG = "password_too_long"  # noqa: S105
    PASSWORD_CHARACTERS = "password_characters"  # noqa: S105
    PASSWORDS_DIFFER = "passwords_differ"
    # answers and options that cannot be used
    ENROLLMENT_CODE_EMPTY = "enrollment_code_empty"
    INVALID_ENVIRONMENT = "invalid_environment"
    NO_FOLDER = "no_folder"
    CANNOT_WRITE = "cannot_write"
    NOT_LOOPBACK = "not_loopback"
    CANNOT_BIND = "cannot_bind"
    # the state of this PC
    REFUSED = "refused"
    NO_LOCAL_CERTIFICATE = "no_local_certificate"
    CERTIFICATE_MISMATCH = "certificate_mismatch"
    KEY_MISMATCH = "key_mismatch"
    STORE_UNUSABLE = "store_unusable"
    STORE_DAMAGED = "store_damaged"  # a store file is not what this program writes
    PENDING_OPERATION = "pending_operation"
    NO_PENDING_KEY = "no_pending_key"
    FILE_EXISTS = "file_exists"
    EXPORT_FAILED = "export_failed"
    # outcomes a command reports with a non-zero exit status
    PAIR_TIMEOUT = "pair_timeout"
    DOCTOR_PROBLEMS = "doctor_problems"


class PasswordRejected(InvalidInput):
    """Codes: ``password_too_short``, ``password_too_long``, ``password_characters``,
    ``passwords_differ``."""

    code = PcCode.PASSWORD_REJECTED


class PcRefusal(ClientError):
    """A command cannot run in the present state; ``code`` says why."""

    code = PcCode.REFUSED


class NoLocalCertificate(PcRefusal):
    """There is no ``<ID>.pfx`` in the store folder."""

    code = PcCode.NO_LOCAL_CERTIFICATE


class CertificateMismatch(PcRefusal):
    """The local certificate is not the one the command needs."""

    code = PcCode.CERTIFICATE_MISMATCH


class StoreUnusable(PcRefusal):
    """The store folder or one of its files cannot be used."""

    code = PcCode.STORE_UNUSABLE

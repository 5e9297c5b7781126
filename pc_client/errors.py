"""Refusals that ``pc-client`` decides on this PC, each with a stable machine ``code``.

They extend the SDK's tree (``sync_client.errors``), so the command line handles every known
error through one ``except ClientError``::

    ClientError (sync_client)
    ├── InvalidInput (sync_client)
    │   ├── InputMissing           standard input ended before a prompt's answer
    │   └── PasswordRejected       a new PFX password breaks a rule (the code says which)
    └── PcRefusal                  a command cannot run in the present state (the code says why)
        ├── NotLoggedIn            no session on this PC (or one for another server)
        ├── NoLocalCertificate     no ``<ID>.pfx`` in the store folder
        ├── CertificateMismatch    the local certificate is not the host's current valid one
        └── StoreUnusable          the store folder or one of its files cannot be used

The SDK's ``WrongPfxPassword``, ``PfxInvalid``, ``ServerUnreachable`` and ``ServerRefused``
(which carries the server's own code) pass through unchanged. Messages come from
``pc_client.messages``; tests assert codes, not wording.
"""

from __future__ import annotations

from sync_client.errors import ClientError, InvalidInput


class InputMissing(InvalidInput):
    """Standard input ended before the answer to a prompt."""

    code = "input_missing"


class PasswordRejected(InvalidInput):
    """Codes: ``password_too_short``, ``password_too_long``, ``password_characters``,
    ``passwords_differ``."""

    code = "password_rejected"


class PcRefusal(ClientError):
    """A command cannot run in the present state; ``code`` says why."""

    code = "refused"


class NotLoggedIn(PcRefusal):
    """No session on this PC, or one for another server."""

    code = "not_logged_in"


class NoLocalCertificate(PcRefusal):
    """There is no ``<ID>.pfx`` in the store folder."""

    code = "no_local_certificate"


class CertificateMismatch(PcRefusal):
    """The local certificate is not the one the command needs."""

    code = "certificate_mismatch"


class StoreUnusable(PcRefusal):
    """The store folder or one of its files cannot be used."""

    code = "store_unusable"

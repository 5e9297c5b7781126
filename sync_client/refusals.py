"""The server's refusals, in the customer's words.

A server answers a refusal with a stable code and an English sentence (docs/PROTOCOL.md,
"Errors"). The clients show their own catalogue's sentence for the code instead, in the run's
language, with the refusal's machine details (times as people read them) filled in; the
server's sentence only for a code this client does not know. ``user_message`` is the one way
any error becomes the sentence a person reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sync_client.codes import ErrorCode
from sync_client.display import show_time
from sync_client.errors import ClientError, ServerRefused
from sync_client.i18n import N_, has_message, placeholders, template
from sync_client.protocol import parse_time

# Every ``ErrorCode`` member a customer can meet has a sentence: exactly these ids, listed by
# hand so that extraction finds them (tests/test_error_codes.py holds them to ``ErrorCode``, and
# tests/test_catalogue.py to docs/PROTOCOL.md's table); ``.details`` forms take the refusal's
# ``details``.
SERVER_ERRORS: Final[tuple[str, ...]] = (
    N_("error.bad_request"),
    N_("error.invalid_national_id"),
    N_("error.unauthenticated"),
    N_("error.login_failed"),
    N_("error.login_failed.details"),
    N_("error.account_locked"),
    N_("error.account_locked.details"),
    N_("error.wrong_device_kind"),
    N_("error.not_found"),
    N_("error.method_not_allowed"),
    N_("error.payload_too_large"),
    N_("error.terms_not_accepted"),
    N_("error.terms_version_outdated"),
    N_("error.enrollment_code_invalid"),
    N_("error.enrollment_code_invalid.details"),
    N_("error.enrollment_code_superseded"),
    N_("error.enrollment_code_expired"),
    N_("error.enrollment_code_used"),
    N_("error.enrollment_code_locked"),
    N_("error.certificate_already_valid"),
    N_("error.csr_invalid"),
    N_("error.csr_signature_invalid"),
    N_("error.csr_subject_mismatch"),
    N_("error.csr_key_unsupported"),
    N_("error.no_certificate"),
    N_("error.renewal_not_open"),
    N_("error.renewal_not_open.details"),
    N_("error.challenge_invalid"),
    N_("error.challenge_expired"),
    N_("error.challenge_used"),
    N_("error.proof_invalid"),
    N_("error.redownload_not_open"),
    N_("error.redownload_expired"),
    N_("error.redownload_used"),
    N_("error.order_invalid"),
    N_("error.order_stale"),
    N_("error.order_replayed"),
    N_("error.certificate_not_valid"),
    N_("error.order_signature_invalid"),
    N_("error.certificate_not_current"),
    N_("error.order_wrong_customer"),
    N_("error.order_wrong_audience"),
    N_("error.certificate_superseded"),
    N_("error.slot_not_found"),
    N_("error.slot_not_ready"),
    N_("error.slot_already_uploaded"),
    N_("error.slot_too_large"),
    N_("error.ciphertext_invalid"),
    N_("error.slot_expired"),
    N_("error.slot_spent"),
    N_("error.slot_cancelled"),
    N_("error.slot_wrong_customer"),
    N_("error.internal_error"),
    N_("error.not_ready"),
    N_("error.storage_full"),
)


# The customer-service codes reach no customer: only ``sync-server admin`` meets them, and it
# speaks English to staff with the service's own message. They have no sentence here (a client
# that met one anyway would show the server's message, as for any code it does not know).
OPERATOR_CODES: Final = frozenset(
    {
        ErrorCode.CUSTOMER_NOT_FOUND,
        ErrorCode.CUSTOMER_EXISTS,
        ErrorCode.CERTIFICATE_NOT_FOUND,
        ErrorCode.ALREADY_REVOKED,
        ErrorCode.SERIAL_AMBIGUOUS,
    }
)


def error_message(code: str, fallback: str, details: Mapping[str, object] | None = None) -> str:
    """What to tell a person about the error ``code``: the catalogue's ``error.<code>``
    sentence (its ``error.<code>.details`` form when the details fill it), else ``fallback``
    (the server's own English message, for a code this client does not know).

    Details are the server's machine values: a time (a key ending in ``_at`` or ``_until``,
    RFC 3339 UTC) is shown as people read it, in the current language (``display.show_time``).
    """
    values = {key: _detail_text(key, value) for key, value in (details or {}).items()}
    for message_id in (f"error.{code}.details", f"error.{code}"):
        if not has_message(message_id, "en"):
            continue
        text = template(message_id)
        if placeholders(text) <= set(values):
            return text.format(**values) if values else text
    return fallback


def user_message(exc: ClientError) -> str:
    """The one sentence a person reads about ``exc``: a server's refusal in the catalogue's
    words for its code (``error_message``), followed by the client's ``advice`` if any; the
    SDK's and the programs' own errors carry their sentence already."""
    if not isinstance(exc, ServerRefused):
        return exc.message
    text = error_message(exc.code, exc.message, exc.details)
    return f"{text} {exc.advice}".strip() if exc.advice else text


def _detail_text(key: str, value: object) -> object:
    if not (isinstance(value, str) and key.endswith(("_at", "_until"))):
        return value
    try:
        return show_time(parse_time(value))
    except ValueError:
        return value

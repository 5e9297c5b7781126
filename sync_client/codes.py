"""The protocol's error vocabulary: every code the server may answer with, defined once.

Each member is the wire string (``ErrorCode.SLOT_EXPIRED == "slot_expired"``) and carries its
HTTP status (``ErrorCode.SLOT_EXPIRED.status == 410``). The server raises with these members,
the clients branch on them and look their sentences up by them; docs/PROTOCOL.md's table lists
exactly these (a test holds the two together). A code the server answers that is not here is
still shown (the server's own message is the fallback), but nothing branches on it.

Codes of one program only (an operator's configuration, a PC's local refusals) live with that
program (``sync_server.errors.ConfigCode``, ``pc_client.errors``…), not here.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A stable machine code of the wire protocol, with the HTTP status it is answered with."""

    status: int

    def __new__(cls, value: str, status: int) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        return member

    # -- any endpoint --------------------------------------------------------------------
    BAD_REQUEST = "bad_request", 400
    UNAUTHENTICATED = "unauthenticated", 401
    WRONG_DEVICE_KIND = "wrong_device_kind", 403
    NOT_FOUND = "not_found", 404
    METHOD_NOT_ALLOWED = "method_not_allowed", 405
    PAYLOAD_TOO_LARGE = "payload_too_large", 413
    INTERNAL_ERROR = "internal_error", 500
    NOT_READY = "not_ready", 503
    STORAGE_FULL = "storage_full", 503  # a write found no room on the server's disk

    # -- customers and sessions ----------------------------------------------------------
    INVALID_NATIONAL_ID = "invalid_national_id", 400
    LOGIN_FAILED = "login_failed", 401
    ACCOUNT_LOCKED = "account_locked", 423

    # -- apply (enrollment slips, terms, the CSR) ----------------------------------------
    TERMS_NOT_ACCEPTED = "terms_not_accepted", 400
    TERMS_VERSION_OUTDATED = "terms_version_outdated", 409
    ENROLLMENT_CODE_INVALID = "enrollment_code_invalid", 403
    ENROLLMENT_CODE_SUPERSEDED = "enrollment_code_superseded", 403
    ENROLLMENT_CODE_EXPIRED = "enrollment_code_expired", 403
    ENROLLMENT_CODE_USED = "enrollment_code_used", 403
    ENROLLMENT_CODE_LOCKED = "enrollment_code_locked", 403
    CERTIFICATE_ALREADY_VALID = "certificate_already_valid", 409
    CSR_INVALID = "csr_invalid", 400
    CSR_SIGNATURE_INVALID = "csr_signature_invalid", 400
    CSR_SUBJECT_MISMATCH = "csr_subject_mismatch", 400
    CSR_KEY_UNSUPPORTED = "csr_key_unsupported", 400

    # -- renewal and re-download ---------------------------------------------------------
    NO_CERTIFICATE = "no_certificate", 404
    RENEWAL_NOT_OPEN = "renewal_not_open", 409
    CHALLENGE_INVALID = "challenge_invalid", 403
    CHALLENGE_EXPIRED = "challenge_expired", 403
    CHALLENGE_USED = "challenge_used", 409
    PROOF_INVALID = "proof_invalid", 403
    REDOWNLOAD_NOT_OPEN = "redownload_not_open", 403
    REDOWNLOAD_EXPIRED = "redownload_expired", 403
    REDOWNLOAD_USED = "redownload_used", 409

    # -- orders --------------------------------------------------------------------------
    ORDER_INVALID = "order_invalid", 400
    ORDER_STALE = "order_stale", 400
    ORDER_REPLAYED = "order_replayed", 409
    CERTIFICATE_NOT_VALID = "certificate_not_valid", 403
    ORDER_SIGNATURE_INVALID = "order_signature_invalid", 403
    ORDER_WRONG_CUSTOMER = "order_wrong_customer", 403
    ORDER_WRONG_AUDIENCE = "order_wrong_audience", 403
    CERTIFICATE_SUPERSEDED = "certificate_superseded", 403

    # -- the relay -----------------------------------------------------------------------
    CERTIFICATE_NOT_CURRENT = "certificate_not_current", 409
    SLOT_NOT_FOUND = "slot_not_found", 404
    SLOT_NOT_READY = "slot_not_ready", 409
    SLOT_ALREADY_UPLOADED = "slot_already_uploaded", 409
    SLOT_TOO_LARGE = "slot_too_large", 413
    # The upload is not a relay envelope of the current version (too short, wrong first byte).
    CIPHERTEXT_INVALID = "ciphertext_invalid", 400
    SLOT_EXPIRED = "slot_expired", 410
    SLOT_SPENT = "slot_spent", 410
    SLOT_CANCELLED = "slot_cancelled", 410
    SLOT_WRONG_CUSTOMER = "slot_wrong_customer", 403

    # -- customer service (the admin CLI and its service functions) ----------------------
    CUSTOMER_NOT_FOUND = "customer_not_found", 404
    CUSTOMER_EXISTS = "customer_exists", 409
    CERTIFICATE_NOT_FOUND = "certificate_not_found", 404
    ALREADY_REVOKED = "already_revoked", 409
    SERIAL_AMBIGUOUS = "serial_ambiguous", 409

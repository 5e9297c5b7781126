"""Apply (function 2) and the slip check before it (docs/PROTOCOL.md, "Apply")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

from pydantic import StringConstraints

from sync_client.codes import ErrorCode
from sync_client.wire.base import PemText, Time, WireRequest, WireResponse, printable

# As typed from the slip: 12 characters, maybe in groups with hyphens or spaces.
EnrollmentCode = Annotated[str, StringConstraints(min_length=1), printable(64)]
TermsVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]


class EnrollmentCheckRequest(WireRequest):
    enrollment_code: EnrollmentCode


class EnrollmentCheckResponse(WireResponse):
    """``expires_at`` is the slip's expiry; the slip is not used up."""

    valid: Literal[True]
    expires_at: Time


class ApplyRequest(WireRequest):
    """Fields in the order the server checks them. ``terms_version`` (optional) is the
    ``terms.version`` of ``GET /info`` the customer accepted."""

    field_codes: ClassVar[Mapping[str, ErrorCode]] = {
        "terms_accepted": ErrorCode.TERMS_NOT_ACCEPTED,
        "csr_pem": ErrorCode.CSR_INVALID,
    }

    terms_accepted: bool
    terms_version: TermsVersion | None = None
    enrollment_code: EnrollmentCode
    csr_pem: PemText

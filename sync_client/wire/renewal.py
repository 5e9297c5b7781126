"""Renewal (function 4): a challenge, then the new CSR signed by the current key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

from sync_client.codes import ErrorCode
from sync_client.wire.base import PemText, Signature, Time, WireRequest, WireResponse, printable
from sync_client.wire.enrollment import TermsVersion


class RenewalChallengeResponse(WireResponse):
    """``nonce`` is base64; the signature covers it as sent (``protocol.renewal_message``)."""

    challenge_id: str
    nonce: str
    expires_at: Time


class RenewRequest(WireRequest):
    """``signature``: the current key's, over ``protocol.renewal_message``."""

    field_codes: ClassVar[Mapping[str, ErrorCode]] = {"csr_pem": ErrorCode.CSR_INVALID}

    challenge_id: Annotated[str, printable(64)]
    signature: Signature
    terms_version: TermsVersion | None = None
    csr_pem: PemText

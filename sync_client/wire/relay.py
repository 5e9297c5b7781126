"""Relay slots (function 5): the PC opens, uploads and waits; the phone claims once."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from sync_client.wire.base import Base64Bytes, Hex64, Time, WireRequest, WireResponse

SlotStateName = Literal["open", "claimed", "expired", "cancelled"]
MAX_WAIT_SECONDS = 30.0
DEFAULT_WAIT_SECONDS = 25.0


class OpenSlotRequest(WireRequest):
    """``certificate_fingerprint``: SHA-256 of the PC's certificate (DER), hex."""

    certificate_fingerprint: Hex64


class OpenSlotResponse(WireResponse):
    """``slot_id``: base64url, 22 characters (128 bits)."""

    slot_id: str
    expires_at: Time


class UploadRequest(WireRequest):
    """The sealed PFX (``sync_client.envelope``), at most 64 KiB before base64."""

    ciphertext: Base64Bytes


# An ASCII decimal (an exponent allowed: the SDK writes ``{wait:g}``, ``1e-05`` for tiny
# waits); ``float()`` alone would also take ``٣`` (Arabic-Indic three), ``1_0`` and blanks.
_SECONDS_TEXT = re.compile(r"-?[0-9]{1,9}(?:\.[0-9]{1,9})?(?:[eE][-+]?[0-9]{1,3})?", re.ASCII)


def _seconds(text: object) -> float:
    """A query parameter is text, a plain decimal; a number (from Python) is taken as it is.
    More than the maximum is the maximum, as the protocol says; NaN, infinities, non-ASCII
    digits and words are refused."""
    if isinstance(text, str):
        value = float(text) if _SECONDS_TEXT.fullmatch(text) else math.nan
    elif isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        value = math.nan
    if not math.isfinite(value):
        raise PydanticCustomError("seconds_format", "must be a number of seconds")
    return min(max(value, 0.0), MAX_WAIT_SECONDS)


class SlotEventsQuery(WireRequest):
    """The long-poll's query: answer as soon as the state differs from ``after``, or when
    ``wait`` seconds (0 to 30; more is taken as 30) have passed."""

    # Query parameters are text: ``wait`` is parsed from it, so this model is not strict.
    model_config = ConfigDict(strict=False, extra="forbid", frozen=True)

    after: SlotStateName | Literal[""] = ""
    wait: Annotated[
        float,
        BeforeValidator(_seconds),
        # Not ``le=30`` in the schema: more is accepted, and taken as 30.
        Field(description="seconds; below 0 is 0, above 30 is 30"),
    ] = DEFAULT_WAIT_SECONDS


class SlotStateResponse(WireResponse):
    slot_id: str
    state: SlotStateName
    expires_at: Time


class ClaimResponse(WireResponse):
    """The first claim by the slot's customer wins and spends the slot.

    ``certificate_fingerprint``: the SHA-256 (hex, lower case) the PC opened the slot for; the
    phone binds it into the envelope's associated data (version 2)."""

    slot_id: str
    customer_id: str
    certificate_fingerprint: Hex64
    ciphertext: Base64Bytes

"""The two model bases of the wire, the field types they share, and how a refusal is worded.

``WireRequest``: strict (a JSON string is never taken for a number, nor ``1`` for ``true``)
and closed (an unknown field is refused). ``WireResponse``: the same exact types, but fields
it does not know are ignored, for forward compatibility. A request model names the error
code a bad value of each field is refused with (``field_codes``, default ``bad_request``), and
``refusal`` turns Pydantic's errors into that code and one sentence naming the field (never
the value: it may be a password).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from sync_client.codes import ErrorCode
from sync_client.protocol import format_time

# The one time form the protocol writes and accepts: UTC, seconds, ``Z``.
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TIME = re.compile(TIME_PATTERN)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# Printable ASCII, and the line breaks of a PEM block.
PRINTABLE = r"^[\x20-\x7E]*$"
PEM_TEXT = r"^[\x20-\x7E\r\n\t]*$"


def _parse_time(value: object) -> datetime:
    if isinstance(value, datetime):  # built in Python (the server's own values)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str) and _TIME.fullmatch(value):
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            pass  # 2026-02-30T…: the right shape, not a time
    raise PydanticCustomError(
        "time_format", "must be an RFC 3339 time in UTC like 2026-11-25T10:00:00Z"
    )


def _parse_base64(value: object) -> bytes:
    if isinstance(value, bytes):  # built in Python
        return value
    if isinstance(value, str) and len(value) % 4 == 0 and _BASE64.fullmatch(value):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            pass
    raise PydanticCustomError("base64_format", "must be standard base64 with padding")


def _encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Time = Annotated[
    datetime,
    PlainValidator(_parse_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": TIME_PATTERN,
         "examples": ["2026-11-25T10:00:00Z"]}
    ),
]  # fmt: skip
"""A time on the wire: ``2026-11-25T10:00:00Z`` exactly; a ``datetime`` (UTC) in Python."""

Base64Bytes = Annotated[
    bytes,
    PlainValidator(_parse_base64),
    PlainSerializer(_encode_base64, return_type=str),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Binary on the wire as standard base64 with padding; ``bytes`` in Python. Its size is bounded
by the body's (and, for relay ciphertext, by ``slot_too_large``)."""

# An RSA-8192 signature is 1024 bytes; an ECDSA one (DER) far less.
MAX_SIGNATURE_BYTES = 1024


def _parse_signature(value: object) -> bytes:
    raw = _parse_base64(value)
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise PydanticCustomError(
            "signature_size", "is longer than any signature (at most 1024 bytes)"
        )
    return raw


Signature = Annotated[
    bytes,
    PlainValidator(_parse_signature),
    PlainSerializer(_encode_base64, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64",
            "maxLength": 4 * -(-MAX_SIGNATURE_BYTES // 3),  # base64 of 1024 bytes
        }
    ),
]
"""A signature: base64 as ``Base64Bytes``, at most ``MAX_SIGNATURE_BYTES`` bytes."""


def printable(max_length: int) -> StringConstraints:
    """Printable ASCII of at most ``max_length`` characters (``Annotated[str, printable(n)]``)."""
    return StringConstraints(max_length=max_length, pattern=PRINTABLE)


PemText = Annotated[str, StringConstraints(min_length=1, max_length=16384, pattern=PEM_TEXT)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
DecimalSerial = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,59}$")]


class WireRequest(BaseModel):
    """A request body: exact types, no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # The code a bad value of a field is refused with (top-level field name → code).
    field_codes: ClassVar[Mapping[str, ErrorCode]] = {}

    def to_wire(self) -> dict[str, Any]:
        """The JSON object this request sends (an optional field left unset is left out)."""
        return self.model_dump(mode="json", exclude_unset=True)


class WireResponse(BaseModel):
    """A response body: exact types; fields this version does not know are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json_bytes(self) -> bytes:
        """The body as the server sends it: compact, UTF-8, non-ASCII kept."""
        return self.model_dump_json().encode()


def _problem(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    simple = {
        "missing": "is missing",
        "extra_forbidden": "is not part of this request",
        "string_type": "must be a string",
        "int_type": "must be a whole number",
        "bool_type": "must be true or false",
        "model_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object",
        "dict_type": "must be a JSON object",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number",
        "string_pattern_mismatch": "is not in the form the protocol gives",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "string_too_short":
        return f"is too short (at least {ctx.get('min_length')} characters)"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "is out of range"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    if kind in ("time_format", "base64_format", "seconds_format", "price_zero", "signature_size"):
        return str(error["msg"])
    return "is not acceptable"


def refusal(model: type[WireRequest], exc: ValidationError) -> tuple[ErrorCode, str]:
    """The code and the sentence to refuse a body that failed ``model`` with.

    The first error in the model's field order decides (so that a route that checked one field
    before another still answers the same code); a body that is not JSON, or not an object,
    is ``bad_request``.
    """
    order = list(model.model_fields)
    errors = exc.errors(include_url=False, include_input=False)

    def rank(error: ErrorDetails) -> int:
        loc = error["loc"]
        return order.index(loc[0]) if loc and loc[0] in order else len(order)

    first = min(errors, key=rank)
    loc = first["loc"]
    if first["type"] == "json_invalid":
        return ErrorCode.BAD_REQUEST, "The request body is not JSON."
    if not loc:
        return ErrorCode.BAD_REQUEST, "The request body must be a JSON object."
    name = ".".join(str(part) for part in loc)
    code = model.field_codes.get(str(loc[0]), ErrorCode.BAD_REQUEST)
    return code, f"The field {name!r} {_problem(first)}."

"""The one shape of every refusal: ``{"error": code, "message": sentence, "details": {...}}``."""

from __future__ import annotations

from typing import Any

from sync_client.wire.base import WireResponse


class ErrorResponse(WireResponse):
    """``error`` is a stable machine code (``sync_client.codes.ErrorCode``; a client shows the
    message of a code it does not know); ``details`` is left out when there is none."""

    error: str
    message: str
    details: dict[str, Any] | None = None

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

"""Log in and log out (docs/PROTOCOL.md, "Sessions")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from sync_client.wire.base import Time, WireRequest, WireResponse

DeviceKind = Literal["pc", "mobile"]


class LoginRequest(WireRequest):
    """A string ``customer_id`` whose format or check digit is wrong is refused by the
    customers rule with ``invalid_national_id``; one that is not a string is ``bad_request``."""

    customer_id: Annotated[str, StringConstraints(max_length=32)]
    password: Annotated[str, StringConstraints(max_length=256)]
    device_kind: DeviceKind


class RenewalReminder(WireResponse):
    """Set when the current certificate is inside its renewal window."""

    not_after: Time
    serial_display: str


class LoginResponse(WireResponse):
    token: str
    expires_at: Time
    customer_id: str
    device_kind: DeviceKind
    renewal_reminder: RenewalReminder | None

"""What the server says about itself: policy, the brokerage's words, the CA, health."""

from __future__ import annotations

from typing import Literal

from sync_client.wire.base import Time, WireResponse


class PolicyResponse(WireResponse):
    """Durations in whole units, rounded down; clients measure clock skew on ``server_time``."""

    pfx_password_min_length: int
    renewal_window_days: int
    certificate_validity_days: int
    relay_slot_lifetime_seconds: int
    server_time: Time
    # What an order's signed message names as its deployment (docs/PROTOCOL.md, "Orders").
    order_audience: str


class Terms(WireResponse):
    version: str
    text: dict[str, str]


class InfoResponse(WireResponse):
    """Each text maps a language (``zh-TW``, ``en``) to its words."""

    brokerage_name: dict[str, str]
    service_phone: str
    service_hours: dict[str, str]
    terms: Terms


class CaChainResponse(WireResponse):
    """The issuing CA first, then up to the root."""

    chain_pem: str


class HealthResponse(WireResponse):
    status: Literal["ok"]


class ReadyResponse(WireResponse):
    """Each check's verdict; when one is not ``ok`` the answer is ``503 not_ready`` instead,
    with the verdicts in ``details``."""

    status: Literal["ready"]
    database: str
    ca: str

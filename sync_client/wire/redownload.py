"""Re-download (function 3): an empty request, answered like apply (``IssuedResponse``)."""

from __future__ import annotations

from sync_client.wire.base import WireRequest


class RedownloadRequest(WireRequest):
    """The body is ``{}`` (an empty body reads as ``{}``); nothing else is accepted."""

"""Every request: an id, one access log line and a latency sample, around the whole app.

A pure ASGI middleware, outermost, so it sees the status that actually left (errors rendered by
the exception handlers included) and times everything the server did for the request. The
route is the matched template (``/api/v1/relay/slots/{slot_id}/claim``), which keeps the
metrics' labels few and keeps ids out of them; an unmatched path is ``unmatched``.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server.logs import request_id
from sync_server.metrics import Metrics

access_log = logging.getLogger("sync_server.access")

# A caller's (a proxy's) id is kept when it is short and plain, else replaced by ours.
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestObserver:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _GOOD_ID.fullmatch(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route_obj: Any = scope.get("route")
            route = getattr(route_obj, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.observe_request(method, route, status, seconds)
            access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            request_id.reset(token)

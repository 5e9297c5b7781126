"""Every request: an id, one access log line and a latency sample, around the whole app.

A pure ASGI middleware, the outermost of ours, so it sees the status that actually left
(errors rendered by the exception handlers included) and times everything the server did for
the request. The route is the matched template (``/api/v1/relay/slots/{slot_id}/claim``),
which keeps the metrics' labels few and keeps ids out of them; an unmatched path is
``unmatched``.

Starlette puts its own error middleware outside every user middleware, so an unexpected error
would reach it after this context (and its request id) had ended, and would be logged twice
(once by the handler, once by the ASGI server it re-raises to). The observer therefore answers
it itself, inside the context: one log line with the id, one ``500`` carrying the id
(``error_handlers.unexpected_answer``), nothing re-raised.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server.error_handlers import REQUEST_ID_KEY, unexpected_answer
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
        scope[REQUEST_ID_KEY] = rid
        status: int | None = None  # of the answer, once it has started
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        def route_of() -> str:
            route_obj: Any = scope.get("route")
            return getattr(route_obj, "path", None) or "unmatched"

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status is not None:  # too late for an answer: the ASGI server ends the stream
                raise
            answer = unexpected_answer(exc, method=scope["method"], route=route_of(), rid=rid)
            await answer(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_of()
            method = scope["method"]
            status = 500 if status is None else status
            self.metrics.observe_request(method, route, status, seconds)
            # The record (and its ``extra``) is built only when the access log is on: ``serve``
            # without an access log pays one level check per request, not a LogRecord.
            if access_log.isEnabledFor(logging.INFO):
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

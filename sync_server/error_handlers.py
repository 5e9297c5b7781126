"""The one exception-handler map: every refusal leaves in the wire's error shape
(``sync_client.wire.errors.ErrorResponse``) — a ``ServiceError`` with its code and status,
Starlette's own 404/405 as ``not_found``/``method_not_allowed``, and anything unexpected as
``internal_error`` with no detail but the request's id.

An unexpected error is a bug: it is logged once, with its traceback and the request id
(``sync_server.logs``), and the ``500`` answer carries the same id as ``X-Request-ID`` and
``details.request_id``, so that an operator finds the one log line a customer quotes. The
request observer (``sync_server.observe``) catches it inside the request's context and calls
``unexpected_answer``; ``on_unexpected`` is the backstop for an error outside that context.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sync_client.codes import ErrorCode
from sync_client.wire.errors import ErrorResponse
from sync_server.answers import error_answer
from sync_server.errors import ServiceError

log = logging.getLogger("sync_server")
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]
_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}
REQUEST_ID_HEADER = "x-request-id"
# Where the request observer leaves the request's id for a handler outside its context.
REQUEST_ID_KEY = "certsync.request_id"


def _render(
    error: ErrorResponse, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        error.to_json_bytes(), status_code=status, headers=headers, media_type="application/json"
    )


async def on_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return _render(error_answer(exc), exc.status)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    message = f"{request.method} {request.url.path}: {exc.detail}."
    return _render(ErrorResponse(error=code.value, message=message), exc.status_code)


def unexpected_answer(exc: BaseException, *, method: str, route: str, rid: str) -> Response:
    """Log ``exc`` (once, with its traceback and ``rid``) and the ``500`` answer that says so.

    ``route`` is the route's template, never the path (a path may hold a slot id). The answer
    names nothing but the request id (its ``X-Request-ID`` header is the caller's to add): no
    exception text, no traceback.
    """
    log.error("internal error on %s %s", method, route, exc_info=exc, extra={"request_id": rid})
    error = ErrorResponse(
        error=ErrorCode.INTERNAL_ERROR.value,
        message=f"The server failed; quote request {rid} to the operators, who have the details.",
        details={"request_id": rid},
    )
    return _render(error, 500)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Reached only for an error the observer did not see (outside its context).
    rid = request.scope.get(REQUEST_ID_KEY) or secrets.token_hex(8)
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    response = unexpected_answer(exc, method=request.method, route=route, rid=rid)
    response.headers[REQUEST_ID_HEADER] = rid
    return response


EXCEPTION_HANDLERS: Mapping[type[Exception], ExceptionHandler] = {
    ServiceError: on_service_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}

"""The one exception-handler map: every refusal leaves in the wire's error shape
(``sync_client.wire.errors.ErrorResponse``) — a ``ServiceError`` with its code and status,
Starlette's own 404/405 as ``not_found``/``method_not_allowed``, and anything unexpected as
``internal_error`` with no detail (the log has the traceback)."""

from __future__ import annotations

import logging
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


def _render(error: ErrorResponse, status: int) -> Response:
    return Response(error.to_json_bytes(), status_code=status, media_type="application/json")


async def on_service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return _render(error_answer(exc), exc.status)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, ErrorCode.BAD_REQUEST)
    message = f"{request.method} {request.url.path}: {exc.detail}."
    return _render(ErrorResponse(error=code.value, message=message), exc.status_code)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    message = "The server failed; the operators have the details."
    return _render(ErrorResponse(error=ErrorCode.INTERNAL_ERROR.value, message=message), 500)


EXCEPTION_HANDLERS: Mapping[type[Exception], ExceptionHandler] = {
    ServiceError: on_service_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}

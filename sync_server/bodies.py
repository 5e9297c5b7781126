"""Reading a request at the edge: the bearer token, the body and the query, each parsed by the
route's wire model (``sync_client.wire``) before any service function sees it.

A body is read with a size cap (``payload_too_large``), parsed as JSON by Pydantic's parser
(which refuses lone surrogates and deep nesting as invalid JSON, where ``json.loads`` would let
the first through and crash on the second), and validated by the model: a bad body is one
refusal naming the field, with the code the model gives that field (``bad_request`` unless a
route documents another), and never reaches the service.

A path parameter is held to its form (``routes.PATH_PATTERNS``) the same way: a slot id that
could never have been issued (a NUL, which PostgreSQL refuses in text, a non-ASCII letter, a
megabyte) is ``slot_not_found`` at once, as an unknown one would be after the lookup.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import ValidationError
from starlette.requests import Request

from sync_client.codes import ErrorCode
from sync_client.wire.base import WireRequest, refusal
from sync_client.wire.routes import SLOT_ID_PATTERN
from sync_server.errors import ServiceError

M = TypeVar("M", bound=WireRequest)
MAX_TOKEN_LENGTH = 200
_SLOT_ID = re.compile(SLOT_ID_PATTERN.removeprefix("^").removesuffix("$"), re.ASCII)


def bearer_token(request: Request) -> str:
    """The session token of ``Authorization: Bearer …``, or ``unauthenticated``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > MAX_TOKEN_LENGTH:
        raise ServiceError(ErrorCode.UNAUTHENTICATED, "Log in first: this call needs a session.")
    return token.strip()


def _too_large(limit: int) -> ServiceError:
    return ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, f"The request body is over {limit} bytes.")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused once it is over ``limit`` bytes (declared or counted)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(model: type[WireRequest], exc: ValidationError) -> ServiceError:
    code, message = refusal(model, exc)
    return ServiceError(code, message)


async def parse_body(request: Request, model: type[M], limit: int) -> M:
    """The body as ``model``; an empty body reads as ``{}``."""
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise _refuse(model, exc) from None


def parse_query(request: Request, model: type[M]) -> M:
    """The query string as ``model`` (a parameter given twice counts once: the last)."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _refuse(model, exc) from None


def path_slot_id(request: Request) -> str:
    """The route's ``{slot_id}``, or ``slot_not_found`` when it is not in a slot id's form."""
    slot_id: str = request.path_params["slot_id"]
    if not _SLOT_ID.fullmatch(slot_id):
        raise ServiceError(ErrorCode.SLOT_NOT_FOUND, "There is no such pairing slot.")
    return slot_id

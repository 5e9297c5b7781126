"""Function 5, 憑證上傳手機: the QR code on the page, its countdown, and the phone's answer.

    GET  /pair          the form: the certificate file (found by itself), the PFX password
    POST /pair          pair.start_pairing → the slot is open; go to /pair/wait
    GET  /pair/wait     the QR code, the time left, 取消; once the slot ended: how it ended
    GET  /pair/qr.png   the QR image, from memory (it carries the relay key: no-store, never
                        a file, gone once the slot has ended)
    GET  /pair/state    JSON for the page's script, every 1.5 s: pair.poll_pairing
    POST /pair/cancel   pair.cancel_pairing

The page turns to 「憑證上傳成功」 by itself: the script polls ``/pair/state`` and reloads
``/pair/wait`` once the slot has ended. The JSON holds the state and the seconds left, never
the payload.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pc_client.app import Context
from pc_client.operations.allowed import Function
from pc_client.operations.pair import cancel_pairing, poll_pairing, start_pairing
from pc_client.web.forms import Errors, error_of, read_form, text
from pc_client.web.pages_session import see_other
from pc_client.web.render import Web
from pc_client.web.state import OpenPairing
from sync_client.errors import ClientCode, ClientError

PAIR_FIELDS: dict[str, str] = {ClientCode.WRONG_PASSWORD: "password"}
POLL_SECONDS = 1.5


def _waiting(current: OpenPairing | None) -> bool:
    return current is not None and (current.outcome is None or not current.outcome.ended)


async def _cancel(web: Web, ctx: Context, current: OpenPairing) -> None:
    ctx.session()  # the slot is the customer's: the request needs the login's token
    outcome = await web.run(cancel_pairing, ctx, current.pairing)
    web.state.record_outcome(current.pairing.slot_id, outcome)


async def pair_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        if request.method == "GET" and _waiting(web.state.pairing):
            return see_other("/pair/wait")
        view, refused = await web.allowed(request, ctx, Function.PAIR)
        if refused is not None:
            return refused
        errors = Errors()
        if request.method == "POST":
            password = text(await read_form(request), "password")
            try:
                pairing = await web.run(start_pairing, ctx, password=password)
            except ClientError as error:
                errors = error_of(error, PAIR_FIELDS)
            else:
                previous = web.state.pairing
                if _waiting(previous):
                    assert previous is not None
                    await _cancel(web, ctx, previous)  # one QR code at a time
                web.state.open_pairing(pairing)
                return see_other("/pair/wait")
        return await web.page(
            request, ctx, "pair.html", view=view, errors=errors,
            status_code=422 if errors else 200,
        )  # fmt: skip


async def pair_wait(request: Request) -> Response:
    web = Web.of(request)
    current = web.state.pairing
    if current is None:
        return see_other("/pair")
    with web.context() as ctx:
        return await web.page(
            request, ctx, "pair_wait.html", current=current, waiting=_waiting(current),
            seconds_left=int(current.pairing.seconds_left(time.monotonic())),
            poll_ms=int(POLL_SECONDS * 1000),
        )  # fmt: skip


async def pair_qr(request: Request) -> Response:
    current = Web.of(request).state.pairing
    if current is None or not current.qr_png or not _waiting(current):
        return Response(status_code=404)
    return Response(current.qr_png, media_type="image/png")


async def pair_state(request: Request) -> Response:
    web = Web.of(request)
    current = web.state.pairing
    if current is None:
        return JSONResponse({"state": "none", "ended": True, "seconds_left": 0})
    if _waiting(current):
        with web.context() as ctx:
            try:
                ctx.session()  # the slot is the customer's: the request needs the login's token
                outcome = await web.run(poll_pairing, ctx, current.pairing)
            except ClientError:
                # The server did not answer this time; the next poll asks again.
                left = int(current.pairing.seconds_left(time.monotonic()))
                return JSONResponse({"state": "open", "ended": False, "seconds_left": left})
        web.state.record_outcome(current.pairing.slot_id, outcome)
        current = web.state.pairing
    assert current is not None and current.outcome is not None
    return JSONResponse(
        {
            "state": current.outcome.state,
            "ended": current.outcome.ended,
            "seconds_left": int(current.outcome.seconds_left),
        }
    )


async def pair_cancel(request: Request) -> Response:
    web = Web.of(request)
    current = web.state.pairing
    if _waiting(current):
        assert current is not None
        with web.context() as ctx:
            await _cancel(web, ctx, current)
    return see_other("/pair/wait")


ROUTES = [
    Route("/pair", pair_page, methods=["GET", "POST"]),
    Route("/pair/wait", pair_wait, methods=["GET"]),
    Route("/pair/qr.png", pair_qr, methods=["GET"]),
    Route("/pair/state", pair_state, methods=["GET"]),
    Route("/pair/cancel", pair_cancel, methods=["POST"]),
]

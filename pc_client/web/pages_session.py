"""The launch, the login and logout, the language switch, 關閉視窗, and function 1 (``/``).

GET  /launch/<secret>   the one-time secret → the cookie, then ``/``
GET  /login             身分證字號 and 登入密碼;  POST: ``operations.session.log_in``
POST /logout            ``operations.session.log_out``
POST /language          the page's language (remembered in the store's settings)
POST /close             關閉視窗: cancels an open pairing, then stops the service
GET  /                  憑證查詢暨憑證資料檢核: ``operations.status.gather_status_or_local``
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pc_client.app import Context
from pc_client.errors import NotLoggedIn
from pc_client.operations.pair import cancel_pairing
from pc_client.operations.session import log_in, log_out
from pc_client.operations.status import LocalStatusView, advise, gather_status_or_local
from pc_client.web.forms import error_of, read_form, text
from pc_client.web.render import Web
from pc_client.web.security import cookie_name
from pc_client.web.views import (
    advice_texts,
    client_rows,
    host_rows,
    unknown_host_rows,
    verdict_is_match,
    verdict_sentence,
)
from sync_client.codes import ErrorCode
from sync_client.errors import ClientError
from sync_client.i18n import LANGUAGES, msg, parse_language

# Which field a login refusal is about (by its code).
LOGIN_FIELDS: Mapping[str, str] = {
    ErrorCode.INVALID_NATIONAL_ID: "customer_id",
    ErrorCode.LOGIN_FAILED: "password",
    ErrorCode.ACCOUNT_LOCKED: "password",
}


def see_other(path: str) -> RedirectResponse:
    """After a form post: go to ``path`` with a GET (303)."""
    return RedirectResponse(path, status_code=303)


def local_path(raw: str) -> str:
    """``raw`` if it is a path of this service (``/…``, not ``//host``), else ``/``."""
    if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/"


async def launch(request: Request) -> Response:
    web = Web.of(request)
    secret = str(request.path_params["secret"])
    token = web.state.gate.exchange(secret)
    if token is not None:
        response = see_other("/")
        response.set_cookie(
            cookie_name(web.settings.port), token, httponly=True, samesite="strict", path="/"
        )
        return response
    name = cookie_name(web.settings.port)
    if web.state.gate.is_launch_secret(secret) and web.state.gate.admits(request.cookies.get(name)):
        return see_other("/")  # the same browser opened the link again
    with web.context() as ctx:
        return await web.page(request, ctx, "launch_used.html", menu=False, status_code=403)


async def login_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        if request.method == "GET":
            if ctx.store.load_session() is not None:
                return see_other("/")
            remembered = ctx.store.load_settings().customer_id or ""
            return await web.page(request, ctx, "login.html", menu=False, customer_id=remembered)
        form = await read_form(request)
        customer_id = text(form, "customer_id").strip()
        try:
            await web.run(log_in, ctx, customer_id, text(form, "password"))
        except ClientError as error:
            return await web.page(
                request, ctx, "login.html", menu=False, status_code=422,
                customer_id=customer_id, errors=error_of(error, LOGIN_FIELDS),
            )  # fmt: skip
    return see_other("/")


async def logout(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        await _cancel_open_pairing(web, ctx)
        await web.run(log_out, ctx)
    return see_other("/login")


async def language(request: Request) -> Response:
    web = Web.of(request)
    form = await read_form(request)
    chosen = parse_language(text(form, "language"))
    if chosen in LANGUAGES and chosen is not None:
        web.state.set_language(chosen)
        with web.context() as ctx, contextlib.suppress(ClientError):
            if ctx.store.home.is_dir():
                ctx.store.update_settings(language=chosen)
    return see_other(local_path(text(form, "next")))


async def close(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        await _cancel_open_pairing(web, ctx)
        response = await web.page(request, ctx, "closed.html", menu=False)
    response.background = BackgroundTask(web.settings.on_close)
    return response


async def _cancel_open_pairing(web: Web, ctx: Context) -> None:
    """A QR code nobody watches must not keep working: leaving cancels it."""
    current = web.state.pairing
    if current is not None and (current.outcome is None or not current.outcome.ended):
        with contextlib.suppress(ClientError):
            ctx.session()  # the cancel needs the login's token (best effort, as the cancel)
            await web.run(cancel_pairing, ctx, current.pairing)
    web.state.forget_pairing()


async def status_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        try:
            view = await web.run(gather_status_or_local, ctx)
        except NotLoggedIn:
            raise
        except ClientError as error:
            return await web.page(
                request, ctx, "problem.html", gather=False, status_code=502,
                errors=error_of(error, {}),
            )  # fmt: skip
        if isinstance(view, LocalStatusView):
            # The host did not answer: this computer's part still shows, the host's is unknown.
            return await web.page(
                request, ctx, "status.html", gather=False, status_code=503,
                host_rows=unknown_host_rows(), client_rows=client_rows(view),
                verdict=view.unreachable.message, matched=False,
                advice=[msg("status.host_unknown.advice")],
            )  # fmt: skip
        return await web.page(
            request, ctx, "status.html", view=view,
            host_rows=host_rows(view), client_rows=client_rows(view),
            verdict=verdict_sentence(view), matched=verdict_is_match(view),
            advice=advice_texts(advise(view)),
        )  # fmt: skip


ROUTES = [
    Route("/launch/{secret}", launch, methods=["GET"]),
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/language", language, methods=["POST"]),
    Route("/close", close, methods=["POST"]),
    Route("/", status_page, methods=["GET"]),
]

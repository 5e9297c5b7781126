"""The templates, and what every page is given: the header, the menu, the footer (``Chrome``).

``Web`` is the launch as a route sees it (``Web.of(request)``): the settings, the state, the
templates, a fresh ``Context`` per request (the same one the commands get), and ``run`` to
call an operation in the thread pool (operations block on the network and on PBKDF2).

Templates call ``msg("web.…")`` with literal ids, so that ``pybabel extract`` finds them
(``babel.cfg``); a sentence built from facts comes ready-made from ``pc_client.web.views``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from pc_client.app import Context
from pc_client.messages import msg
from pc_client.operations.allowed import Function, allowed_now
from pc_client.operations.info import fetch_brokerage_info
from pc_client.operations.status import StatusView, gather_status
from pc_client.web.forms import Errors, one_error
from pc_client.web.settings import WebSettings
from pc_client.web.state import WebState
from pc_client.web.views import MenuItem, menu_items, refusal_reason, setting_text
from sync_client.display import certificate_time, show_time, taipei
from sync_client.errors import ClientError
from sync_client.i18n import Language, current_language

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
T = TypeVar("T")

# The language a page is written in, for <html lang> (screen readers, fonts, hyphenation).
HTML_LANG: dict[Language, str] = {"zh-TW": "zh-Hant-TW", "en": "en"}


def make_templates() -> Jinja2Templates:
    """Jinja2 with autoescaping, strict about undefined names, and ``msg`` as a global."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(msg=msg, certificate_time=certificate_time, setting_text=setting_text)
    return Jinja2Templates(env=env)


@dataclass(frozen=True)
class Chrome:
    """What surrounds every page: header (clock, language switch), menu, footer."""

    html_lang: str
    switch_to: Language
    now_text: str
    now_epoch_ms: int
    clock_style: Literal["roc", "local"]
    menu: list[MenuItem] | None  # None: no menu (the login page, the closed page)
    customer_id: str | None
    brokerage: str
    service_phone: str
    service_hours: str
    year: int
    path: str


class Web:
    """One launch, as the routes see it."""

    def __init__(self, settings: WebSettings, state: WebState, templates: Jinja2Templates):
        self.settings = settings
        self.state = state
        self.templates = templates

    @classmethod
    def of(cls, request: Request) -> Web:
        web = request.app.state.web
        assert isinstance(web, Web)
        return web

    @contextlib.contextmanager
    def context(self) -> Iterator[Context]:
        """What an operation is given, as for a command: the same store, session and server."""
        ctx = Context(self.settings.options, http=self.settings.http)
        try:
            yield ctx
        finally:
            ctx.close()

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call an operation in the thread pool (it blocks: network, PBKDF2)."""
        return await run_in_threadpool(function, *args, **kwargs)

    async def status(self, ctx: Context) -> StatusView | None:
        """The status view for the menu, or ``None`` when it cannot be had now."""
        try:
            return await self.run(gather_status, ctx)
        except ClientError:
            return None

    async def _brokerage(self, ctx: Context) -> None:
        if self.state.info is None:
            with contextlib.suppress(ClientError):
                self.state.remember_info(await self.run(fetch_brokerage_info, ctx))

    async def chrome(
        self, request: Request, ctx: Context, view: StatusView | None, *, menu: bool
    ) -> Chrome:
        await self._brokerage(ctx)
        language = current_language()
        info = self.state.info
        now = datetime.now(UTC)
        customer_id = view.customer_id if view is not None else None
        if customer_id is None and menu:
            session = ctx.store.load_session()
            customer_id = session.customer_id if session is not None else None
        return Chrome(
            html_lang=HTML_LANG[language],
            switch_to="en" if language == "zh-TW" else "zh-TW",
            now_text=show_time(now),
            now_epoch_ms=int(now.timestamp() * 1000),
            clock_style="roc" if language == "zh-TW" else "local",
            menu=menu_items(allowed_now(view) if view else None, request.url.path)
            if menu
            else None,
            customer_id=customer_id,
            brokerage=_pick(info.brokerage_name, language) if info else "",
            service_phone=info.service_phone if info else "",
            service_hours=_pick(info.service_hours, language) if info else "",
            year=now.astimezone(taipei()).year,
            path=request.url.path,
        )

    async def allowed(
        self, request: Request, ctx: Context, function: Function
    ) -> tuple[StatusView, Response | None]:
        """The status view, and the refusal page when ``function``'s rule forbids it now
        (the same rule that greys it out in the menu, and that the operation applies)."""
        view = await self.run(gather_status, ctx)
        refusal = allowed_now(view)[function].refusal
        if refusal is None:
            return view, None
        page = await self.page(
            request, ctx, "refused.html", view=view, status_code=409,
            function=function.value,
            errors=one_error(refusal_reason(refusal.code, refusal.message)),
        )  # fmt: skip
        return view, page

    def terms(self) -> tuple[str, str | None]:
        """The terms in the page's language and their version (``None``: not known)."""
        info = self.state.info
        if info is None:
            return msg("terms.text"), None
        return _pick(info.terms_text, current_language()), info.terms_version

    async def page(
        self,
        request: Request,
        ctx: Context,
        template: str,
        *,
        view: StatusView | None = None,
        gather: bool = True,
        menu: bool = True,
        status_code: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """Render ``template`` inside the page's chrome. The menu needs the status view: it
        is gathered here unless given (``gather=False``: a page without one)."""
        if view is None and gather and menu:
            view = await self.status(ctx)
        chrome = await self.chrome(request, ctx, view, menu=menu)
        context = {"chrome": chrome, "view": view, "errors": Errors(), **values}
        response = self.templates.TemplateResponse(
            request, template, context, status_code=status_code
        )
        assert isinstance(response, HTMLResponse)
        return response


def _pick(texts: dict[str, str], language: Language) -> str:
    """The text in ``language``, else in English, else any."""
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")

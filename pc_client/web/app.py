"""``create_web_app(settings)``: the customer's page as a Starlette app, built from explicit
settings (nothing at import time reads the store or the network).

The routes come from the ``pages_*`` modules; ``LocalGuard`` (``security``) wraps them all.
Two refusals every page may meet are handled once here: no login session (→ the login
page) and a form too large for any form of this page.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from pc_client.errors import NotLoggedIn
from pc_client.web import (
    pages_certificate,
    pages_doctor,
    pages_files,
    pages_phone,
    pages_session,
    pages_settings,
)
from pc_client.web.forms import FormTooLarge
from pc_client.web.render import Web, make_templates
from pc_client.web.security import LocalGuard
from pc_client.web.settings import WebSettings
from pc_client.web.state import WebState

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def _not_logged_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


async def _too_large(request: Request, exc: Exception) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        return await web.page(request, ctx, "too_large.html", gather=False, status_code=413)


def create_web_app(settings: WebSettings) -> Starlette:
    """The page for one launch (``pc-client ui`` serves it; tests drive it in process)."""
    state = WebState(settings)
    routes = [
        *pages_session.ROUTES,
        *pages_certificate.ROUTES,
        *pages_files.ROUTES,
        *pages_phone.ROUTES,
        *pages_settings.ROUTES,
        *pages_doctor.ROUTES,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                LocalGuard,
                port=settings.port,
                gate=state.gate,
                language=lambda: state.language,
            )
        ],
        exception_handlers={NotLoggedIn: _not_logged_in, FormTooLarge: _too_large},
    )
    app.state.web = Web(settings, state, make_templates())
    return app

"""Functions 8 and 9: 憑證檔(PFX)密碼變更 and 憑證密碼安全設定.

GET/POST /passwd             current password, new twice (執行密碼變更)
                             password.change_pfx_password
GET/POST /security-setting   the three settings as radio buttons, the PFX password
                             (變更安全設定)   password.set_security_setting
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pc_client.operations.allowed import Function
from pc_client.operations.password import (
    change_pfx_password,
    password_min_length,
    read_security_setting,
    set_security_setting,
)
from pc_client.web.forms import Errors, error_of, read_form, text
from pc_client.web.pages_certificate import PASSWORD_FIELDS
from pc_client.web.render import Web
from pc_client.web.views import setting_choices
from sync_client.errors import ClientCode, ClientError

PASSWD_FIELDS: dict[str, str] = {**PASSWORD_FIELDS, ClientCode.WRONG_PASSWORD: "current_password"}
SETTING_FIELDS: dict[str, str] = {
    ClientCode.WRONG_PASSWORD: "password",
    ClientCode.INVALID_INPUT: "security_setting",
    ClientCode.CREDENTIAL_STORE_UNAVAILABLE: "security_setting",
}


async def passwd_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.PASSWD)
        if refused is not None:
            return refused
        errors = Errors()
        if request.method == "POST":
            form = await read_form(request)
            try:
                changed = await web.run(
                    change_pfx_password, ctx,
                    current_password=text(form, "current_password"),
                    new_password=text(form, "new_password"),
                    new_password_again=text(form, "new_password_again"),
                )  # fmt: skip
            except ClientError as error:
                errors = error_of(error, PASSWD_FIELDS)
            else:
                return await web.page(request, ctx, "passwd_done.html", changed=changed)
        return await web.page(
            request, ctx, "passwd.html", view=view, errors=errors,
            min_length=await web.run(password_min_length, ctx),
            status_code=422 if errors else 200,
        )  # fmt: skip


async def security_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.SECURITY_SETTING)
        if refused is not None:
            return refused
        current = await web.run(read_security_setting, ctx)
        errors = Errors()
        chosen = int(current.security_setting)
        if request.method == "POST":
            form = await read_form(request)
            raw = text(form, "security_setting")
            chosen = int(raw) if raw in ("1", "2", "3") else chosen
            try:
                done = await web.run(
                    set_security_setting, ctx, setting=raw, password=text(form, "password")
                )
            except ClientError as error:
                errors = error_of(error, SETTING_FIELDS)
            else:
                return await web.page(request, ctx, "security_done.html", done=done)
        return await web.page(
            request, ctx, "security.html", view=view, errors=errors, current=current,
            choices=setting_choices(chosen), status_code=422 if errors else 200,
        )  # fmt: skip


ROUTES = [
    Route("/passwd", passwd_page, methods=["GET", "POST"]),
    Route("/security-setting", security_page, methods=["GET", "POST"]),
]

"""Functions 2, 3 and 4: 用戶線上憑證申請, 憑證重新下載, 憑證更新、展期.

    GET/POST /apply                 the slip's code (送出)           enroll.check_enrollment_slip
    GET/POST /apply/terms           我同意上述約定條款 (繼續)        enroll.require_terms
    GET/POST /apply/password        new PFX password twice, the security setting (憑證下載)
                                                                    enroll.apply_for_certificate
    GET/POST /redownload            the PFX password chosen then   enroll.redownload_certificate
    GET/POST /renew                 the terms (繼續)                enroll.require_terms
    GET/POST /renew/password        current password, new twice    renew.renew_certificate

Between the steps the slip's code waits in the launch's memory (``state.ApplyDraft``), never
in the page. Each GET first asks the same rule as the menu (``allowed.allowed_now``) and shows
its sentence instead of the form when the function cannot run now.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pc_client.app import Context
from pc_client.errors import PcCode
from pc_client.messages import N_
from pc_client.operations.allowed import Function
from pc_client.operations.enroll import (
    apply_for_certificate,
    check_enrollment_slip,
    redownload_certificate,
    require_terms,
)
from pc_client.operations.password import password_min_length
from pc_client.operations.renew import renew_certificate
from pc_client.operations.status import StatusView
from pc_client.web.forms import Errors, error_of, read_form, required, text
from pc_client.web.pages_session import see_other
from pc_client.web.render import Web
from pc_client.web.views import setting_choices
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, ClientError, ServerRefused

PASSWORD_FIELDS: dict[str, str] = {
    PcCode.PASSWORD_TOO_SHORT: "new_password",
    PcCode.PASSWORD_TOO_LONG: "new_password",
    PcCode.PASSWORD_CHARACTERS: "new_password",
    PcCode.PASSWORDS_DIFFER: "new_password_again",
    ClientCode.CREDENTIAL_STORE_UNAVAILABLE: "security_setting",
    ClientCode.INVALID_INPUT: "security_setting",
    ErrorCode.TERMS_NOT_ACCEPTED: "agree",
}
CODE_FIELDS: dict[str, str] = {
    ErrorCode.ENROLLMENT_CODE_INVALID: "enrollment_code",
    ErrorCode.ENROLLMENT_CODE_LOCKED: "enrollment_code",
    ErrorCode.ENROLLMENT_CODE_EXPIRED: "enrollment_code",
    ErrorCode.ENROLLMENT_CODE_USED: "enrollment_code",
    ErrorCode.ENROLLMENT_CODE_SUPERSEDED: "enrollment_code",
}
# The host changed its terms after the customer agreed: they are shown again.
TERMS_OUTDATED = ErrorCode.TERMS_VERSION_OUTDATED
RENEW_FIELDS: dict[str, str] = {**PASSWORD_FIELDS, ClientCode.WRONG_PASSWORD: "current_password"}
# The page's words where the shared sentence names a command.
APPLY_WORDS: dict[str, str] = {ClientCode.SERVER_UNREACHABLE: N_("web.apply.unreachable")}
RENEW_WORDS: dict[str, str] = {ClientCode.SERVER_UNREACHABLE: N_("web.renew.unreachable")}
REDOWNLOAD_FIELDS: dict[str, str] = {ClientCode.WRONG_PASSWORD: "password"}


# -- function 2: apply --------------------------------------------------------------------------


async def apply_code(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.APPLY)
        if refused is not None:
            return refused
        errors = Errors()
        if request.method == "POST":
            code = text(await read_form(request), "enrollment_code").strip()
            if not code:
                errors = required("enrollment_code")
            else:
                try:
                    await web.run(check_enrollment_slip, ctx, code)
                except ClientError as error:
                    errors = error_of(error, CODE_FIELDS)
                else:
                    web.state.start_apply(view.customer_id, code)
                    return see_other("/apply/terms")
        return await web.page(
            request, ctx, "apply_code.html", view=view, errors=errors,
            status_code=422 if errors else 200,
        )  # fmt: skip


async def apply_terms(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.APPLY)
        if refused is not None:
            return refused
        if web.state.apply_draft(view.customer_id) is None:
            return see_other("/apply")
        return await _terms_step(
            request, web, ctx, view, action="/apply/terms", function="apply",
            agree=web.state.agree_apply_terms, next_url="/apply/password",
        )  # fmt: skip


async def apply_password(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.APPLY)
        if refused is not None:
            return refused
        draft = web.state.apply_draft(view.customer_id)
        if draft is None:
            return see_other("/apply")
        if not draft.agreed:
            return see_other("/apply/terms")
        errors = Errors()
        setting = view.settings.security_setting
        if request.method == "POST":
            form = await read_form(request)
            setting_raw = text(form, "security_setting")
            try:
                applied = await web.run(
                    apply_for_certificate, ctx,
                    enrollment_code=draft.enrollment_code, terms_accepted=draft.agreed,
                    terms_version=draft.terms_version,
                    password=text(form, "new_password"),
                    password_again=text(form, "new_password_again"),
                    security_setting=setting_raw,
                )  # fmt: skip
            except ClientError as error:
                if isinstance(error, ServerRefused) and error.code in CODE_FIELDS:
                    web.state.end_apply()  # the code no longer works: start again
                elif error.code == TERMS_OUTDATED:
                    web.state.forget_info()  # the host has new terms: they are read again
                    web.state.withdraw_apply_terms()
                errors = error_of(error, PASSWORD_FIELDS, APPLY_WORDS)
                setting = int(setting_raw) if setting_raw in ("1", "2", "3") else setting
            else:
                web.state.end_apply()
                return await web.page(
                    request, ctx, "issued.html", issued=applied.certificate,
                    headline="apply", setting=applied.security_setting,
                )  # fmt: skip
        return await web.page(
            request, ctx, "new_password.html", view=view, errors=errors,
            action="/apply/password", function="apply",
            min_length=await web.run(password_min_length, ctx),
            choices=setting_choices(setting), status_code=422 if errors else 200,
        )  # fmt: skip


# -- function 3: redownload ---------------------------------------------------------------------


async def redownload(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.REDOWNLOAD)
        if refused is not None:
            return refused
        errors = Errors()
        if request.method == "POST":
            password = text(await read_form(request), "password")
            try:
                issued = await web.run(redownload_certificate, ctx, password=password)
            except ClientError as error:
                errors = error_of(error, REDOWNLOAD_FIELDS)
            else:
                return await web.page(
                    request, ctx, "issued.html", issued=issued, headline="redownload"
                )
        return await web.page(
            request, ctx, "redownload.html", view=view, errors=errors,
            status_code=422 if errors else 200,
        )  # fmt: skip


# -- function 4: renew --------------------------------------------------------------------------


async def renew_terms(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.RENEW)
        if refused is not None:
            return refused
        return await _terms_step(
            request, web, ctx, view, action="/renew", function="renew",
            agree=web.state.agree_renew_terms, next_url="/renew/password",
        )  # fmt: skip


async def renew_password(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.RENEW)
        if refused is not None:
            return refused
        if not web.state.renew_terms_agreed(view.customer_id):
            return see_other("/renew")
        errors = Errors()
        if request.method == "POST":
            form = await read_form(request)
            try:
                issued = await web.run(
                    renew_certificate, ctx, terms_accepted=True,
                    terms_version=web.state.renew_terms_version(view.customer_id),
                    current_password=text(form, "current_password"),
                    new_password=text(form, "new_password"),
                    new_password_again=text(form, "new_password_again"),
                )  # fmt: skip
            except ClientError as error:
                errors = error_of(error, RENEW_FIELDS, RENEW_WORDS)
                if error.code == TERMS_OUTDATED:
                    web.state.forget_info()  # the host has new terms: they are read again
                    web.state.end_renew()
            else:
                web.state.end_renew()
                return await web.page(request, ctx, "issued.html", issued=issued, headline="renew")
        return await web.page(
            request, ctx, "new_password.html", view=view, errors=errors,
            action="/renew/password", function="renew",
            min_length=await web.run(password_min_length, ctx), choices=[],
            status_code=422 if errors else 200,
        )  # fmt: skip


ROUTES = [
    Route("/apply", apply_code, methods=["GET", "POST"]),
    Route("/apply/terms", apply_terms, methods=["GET", "POST"]),
    Route("/apply/password", apply_password, methods=["GET", "POST"]),
    Route("/redownload", redownload, methods=["GET", "POST"]),
    Route("/renew", renew_terms, methods=["GET", "POST"]),
    Route("/renew/password", renew_password, methods=["GET", "POST"]),
]


async def _terms_step(
    request: Request,
    web: Web,
    ctx: Context,
    view: StatusView,
    *,
    action: str,
    function: str,
    agree: Callable[[str, str | None], object],
    next_url: str,
) -> Response:
    """The terms with 我同意上述約定條款 and 繼續 (apply and renew alike): on agreement the
    version shown is remembered for the request, and the next step follows."""
    terms, version = web.terms()
    errors = Errors()
    if request.method == "POST":
        agreed = text(await read_form(request), "agree") == "yes"
        try:
            require_terms(agreed)
        except ClientError as error:
            errors = error_of(error, PASSWORD_FIELDS)
        else:
            agree(view.customer_id, version)
            return see_other(next_url)
    return await web.page(
        request, ctx, "terms.html", view=view, errors=errors, terms=terms,
        action=action, function=function, status_code=422 if errors else 200,
    )  # fmt: skip

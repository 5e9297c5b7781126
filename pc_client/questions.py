"""The questions more than one command asks, and the flags that answer them instead.

Each asks through ``app.prompter`` and then applies the operations' own rule at once, so that a
wrong answer is refused right after it is typed, before the next question, as the ``--help``
order promises. The rule itself lives in ``pc_client.operations``; the operation applies it
again when it runs (a page's form gives every answer at once).

On a terminal an honest mistake asks again instead of ending the command: a mistyped slip code
(while the host still allows tries), a new password that breaks a rule. When answers come from
standard input (a script), a wrong answer ends the command, since the next line was meant for
the next question.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import click

from pc_client.app import App
from pc_client.errors import PasswordRejected, PcCode
from pc_client.messages import PROCESSING, msg, setting_menu
from pc_client.operations.enroll import require_terms
from pc_client.operations.info import fetch_brokerage_info
from pc_client.operations.password import choose_security_setting
from pc_client.passwords import check_new_password
from sync_client.api import BrokerageInfo
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, ClientError, InvalidInput, ServerRefused
from sync_client.i18n import current_language
from sync_client.keys import KeyKind
from sync_client.orders import parse_quantity
from sync_client.refusals import user_message
from sync_client.security import SecuritySetting

KEY_TYPES = click.Choice(["rsa", "ec"])
# How often a terminal asks again after an honest mistake before the command gives up.
ATTEMPTS = 3
# The host's refusals of a slip code that another try could mend (a typo).
SLIP_RETRYABLE = frozenset(
    {ErrorCode.ENROLLMENT_CODE_INVALID, ErrorCode.ENROLLMENT_CODE_SUPERSEDED}
)

# Shared by apply and import: the setting asked for when a certificate arrives.
security_setting_option = click.option(
    "--security-setting",
    "setting_option",
    type=click.IntRange(1, 3),
    metavar="N",
    default=None,
    help="1, 2 or 3, without the prompt.",
)

T = TypeVar("T")


class Quantity(click.ParamType[int, object]):
    """``order --qty``: ASCII digits only (``sync_client.orders.parse_quantity``); click's
    ``IntRange`` would take "١٢" or "1_000" as numbers."""

    name = "quantity"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return parse_quantity(str(value))
        except InvalidInput as exc:
            self.fail(exc.message, param, ctx)


QUANTITY = Quantity()


def key_kind(key_type: str | None) -> KeyKind | None:
    """``--key-type`` as the operations take it (``None``: not given)."""
    if key_type is None:
        return None
    return "ec" if key_type == "ec" else "rsa"


def _again_on_terminal(app: App, ask: Callable[[], T], *, retry: Callable[[Exception], bool]) -> T:
    """``ask()``; on a terminal, when it fails in a way ``retry`` calls mendable, say why and
    ask again (``ATTEMPTS`` times in all); elsewhere the first failure ends the command."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return ask()
        except ClientError as exc:
            if not app.prompter.interactive or attempt == ATTEMPTS or not retry(exc):
                raise
            app.prompter.say(user_message(exc))
    raise AssertionError("unreachable")  # the loop returns or raises


def ask_enrollment_code(app: App) -> str:
    """The slip's code, shown as typed (it is printed on paper, not a password), checked with
    the host before anything else is asked; each check counts as a try, as at apply."""
    client = app.client()

    def ask() -> str:
        code = app.prompter.text(msg("prompt.enrollment_code")).strip()
        if not code:
            raise InvalidInput(
                msg("prompt.enrollment_code_empty"), code=PcCode.ENROLLMENT_CODE_EMPTY
            )
        client.check_enrollment_code(code)
        return code

    def mendable(exc: Exception) -> bool:
        return isinstance(exc, InvalidInput) or (
            isinstance(exc, ServerRefused) and exc.code in SLIP_RETRYABLE
        )

    return _again_on_terminal(app, ask, retry=mendable)


@dataclass(frozen=True)
class Agreement:
    """The customer agreed to the terms of ``version`` (``None``: an older host without
    ``/info``, whose terms are this program's own)."""

    version: str | None


def brokerage_info(app: App) -> BrokerageInfo | None:
    """The host's ``/info``, or ``None`` from a host that predates it."""
    try:
        return fetch_brokerage_info(app)
    except ServerRefused as exc:
        if exc.code in (ErrorCode.NOT_FOUND, ClientCode.BAD_RESPONSE):
            return None
        raise


def ask_terms(app: App, agreed: bool) -> Agreement:
    """Show the host's terms and ask for agreement, unless ``--agree``; refuse a no at once.
    Either way the version agreed to goes to the host with the request."""
    info = brokerage_info(app)
    version = info.terms_version if info is not None else None
    if agreed:
        return Agreement(version)
    if info is not None:
        text = info.terms_text.get(current_language()) or info.terms_text.get("en", "")
        app.prompter.say(msg("terms.heading", version=info.terms_version))
        app.prompter.say(text)
    else:
        app.prompter.say(msg("terms.text"))
    require_terms(app.prompter.confirm(msg("prompt.agree")))
    return Agreement(version)


def ask_new_password(app: App, *, min_length: int) -> tuple[str, str]:
    """The new PFX password, typed twice, with the rule shown first; a password that breaks
    the rule is refused at once (and asked again on a terminal)."""
    app.prompter.say(msg("password.rule", min_length=min_length))

    def ask() -> tuple[str, str]:
        password = app.prompter.secret(msg("prompt.new_password"))
        again = app.prompter.secret(msg("prompt.new_password_again"))
        check_new_password(password, again, min_length=min_length)
        return password, again

    return _again_on_terminal(app, ask, retry=lambda exc: isinstance(exc, PasswordRejected))


def ask_security_setting(app: App, option: int | None) -> SecuritySetting:
    """``--security-setting N`` or the prompt, after the three meanings (default: the current
    setting)."""
    if option is not None:
        return choose_security_setting(option)
    current = app.store.load_settings().security_setting
    for line in setting_menu():
        app.prompter.say(line)

    def ask() -> SecuritySetting:
        answer = app.prompter.text(msg("prompt.security_setting"), default=str(current))
        return choose_security_setting(answer)

    return _again_on_terminal(app, ask, retry=lambda exc: isinstance(exc, InvalidInput))


def say_processing(app: App) -> None:
    """系統進行憑證資料處理中，請稍後: the host is working (on a terminal only)."""
    app.prompter.say(msg(PROCESSING))


def service_line(app: App) -> str:
    """The customer-service line and hours, from the host (empty if it cannot say)."""
    try:
        info = brokerage_info(app)
    except ServerRefused:
        return ""
    if info is None:
        return ""
    language = current_language()
    hours = info.service_hours.get(language) or info.service_hours.get("en", "")
    return msg("advice.call_service", phone=info.service_phone, hours=hours)

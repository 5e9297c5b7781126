"""``mobile-stub`` in Traditional Chinese and in English, from the one catalogue.

A tester's session in zh-TW — every command, its refusals and its ``--help`` — must leave no
English sentence: after the machine parts a person may see in any language are taken out
(codes in ``[brackets]``, paths, URLs, IDs, numbers, command names, flags, variables and
metavars), no run of two ASCII words may remain. ``--lang en`` speaks English with no Chinese
character; ``--json`` speaks English whatever the language. Times: ROC year and Taipei time in
zh-TW, and certificate dates as the original's certificate table printed them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from mobile_stub_support import (
    CUSTOMER_A,
    LOGIN_PASSWORD,
    PFX_PASSWORD,
    Customer,
    Phone,
    Result,
    World,
)

from mobile_stub.language import language_for_run
from sync_client.api import SyncClient
from sync_client.display import certificate_time, display_width, show_time
from sync_client.errors import ServerRefused
from sync_client.i18n import msg, use_language
from sync_client.protocol import parse_time
from sync_client.refusals import error_message

ZH = ("--lang", "zh-TW")
EN = ("--lang", "en")

# What a person may read in any language, taken out before looking for English. Order matters:
# URLs and paths before the words inside them.
_MACHINE = [
    re.compile(pattern)
    for pattern in (
        r"\[[^\]\n]*\]",  # codes in brackets; click's [OPTIONS], [default: ...], [x>=1]
        r"\{[^}\n]*\}",  # the shape of a JSON object in the help's exit status
        r"https?://[^\s，。：；、（）「」]+",  # URLs
        r"(?<![\w.-])(?:[~.]{0,2}/)[^\s，。：；、（）「」]*",  # paths
        r"`[^`\n]*`",  # commands quoted in help
        r"\b(?:mobile-stub|pc-client|sync-server)\b",  # command names
        r"(?<![\w-])--?[A-Za-z][\w-]*",  # flags
        r"\$?\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b",  # variables, CUSTOMER_ID
        r"\b[A-Z]{1,2}\d{8,9}\b",  # customer IDs
        r"\b[0-9a-f]{16,}\b",  # order ids, fingerprints
        r"\b(?:[0-9A-F]{2}:){7,}[0-9A-F]{2}\b",  # a CA fingerprint as people compare it
        r"\b0x[0-9A-F]+\b",  # serials in hex
        r"\b[A-Z]{2,}\b",  # metavars (FILE, SETTING), and PFX, CN, QR, JSON, PNG
        r"\d+(?:[./:,]\d+)*",  # numbers, dates, times
    )
]
_TWO_WORDS = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ \t,:;.!?]+[A-Za-z][A-Za-z'’]*)+")
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def english_left(text: str) -> list[str]:
    """Runs of two or more ASCII words in ``text``, once its machine parts are taken out."""
    for pattern in _MACHINE:
        text = pattern.sub(" ", text)
    return _TWO_WORDS.findall(text)


def assert_chinese(result: Result) -> None:
    text = result.out + result.err
    assert _CJK.search(text), text
    assert english_left(text) == [], text


def assert_english(result: Result) -> None:
    text = result.out + result.err
    assert not _CJK.search(text), text


def test_the_english_finder_finds_english_and_spares_machine_text() -> None:
    assert english_left("Verdict: matches 憑證") == ["Verdict: matches"]
    assert english_left("The phone is not logged in.") != []
    machine = (
        "錯誤：手機尚未登入；請執行：mobile-stub login <身分證字號>。 [not_logged_in]\n"
        "已登入 http://127.0.0.1:8000/api，身分證字號 A123456789（/tmp/ab/x.pfx）\n"
        "  --qty N   股數。  [x>=1; required]\n  MOBILE_STUB_LANG  zh-TW 或 en\n"
        "用法： mobile-stub [OPTIONS] COMMAND [ARGS]..."
    )
    assert english_left(machine) == []


# -- choosing the language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        ([], {}, "en"),
        ([], {"LANG": "zh_TW.UTF-8"}, "zh-TW"),
        ([], {"LANG": "zh_HK.UTF-8"}, "zh-TW"),
        ([], {"LC_MESSAGES": "zh_Hant", "LANG": "en_US.UTF-8"}, "zh-TW"),
        ([], {"LC_ALL": "en_US.UTF-8", "LANG": "zh_TW.UTF-8"}, "en"),
        ([], {"LANG": "zh_CN.UTF-8"}, "en"),  # Simplified Chinese is not ours
        ([], {"LANG": "fr_FR.UTF-8"}, "en"),
        ([], {"MOBILE_STUB_LANG": "zh-TW", "LANG": "en_US.UTF-8"}, "zh-TW"),
        (["--lang", "en"], {"MOBILE_STUB_LANG": "zh-TW"}, "en"),
        (["--lang=zh-TW"], {}, "zh-TW"),
        (["--lang", "zh-TW", "--json"], {}, "en"),  # machine output stays English
    ],
)
def test_language_order_flag_variable_locale(
    tmp_path: Path, args: list[str], environ: dict[str, str], expected: str
) -> None:
    argv = ["--home", str(tmp_path / "none"), *args, "status"]
    assert language_for_run(argv, {"LANG": "C", **environ}) == expected


def test_lang_is_remembered_in_the_phone_s_home_after_a_command_that_worked(
    world: World, alice: Customer, phone: Phone
) -> None:
    failed = phone.run(*ZH, "status", as_json=False)  # not logged in: nothing remembered
    assert failed.rc == 1 and "[not_logged_in]" in failed.err
    assert not phone.home.exists()

    assert phone.run(*ZH, "login", CUSTOMER_A, input=LOGIN_PASSWORD + "\n", as_json=False).rc == 0
    settings = json.loads((phone.home / "settings.json").read_text())
    assert settings["language"] == "zh-TW"

    later = phone.run("status", as_json=False, environ={"LANG": "en_US.UTF-8"})
    assert later.rc == 0
    assert_chinese(later)  # remembered beats the OS locale
    assert_english(phone.run("status", as_json=False, environ={"MOBILE_STUB_LANG": "en"}))
    assert_english(phone.run(*EN, "status", as_json=False))
    assert json.loads((phone.home / "settings.json").read_text())["language"] == "en"
    assert_english(phone.run("status", as_json=False, environ={"LANG": "zh_TW.UTF-8"}))


def test_a_damaged_settings_file_does_not_stop_the_language_choice(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.home.mkdir()
    (phone.home / "settings.json").write_text("{ damaged")
    result = phone.run("status", as_json=False, environ={"LANG": "zh_TW.UTF-8"})
    assert result.rc == 1 and "[not_logged_in]" in result.err
    assert_chinese(result)


# -- a tester's session in Traditional Chinese --------------------------------------------


@pytest.fixture
def zh(phone: Phone) -> Callable[..., Result]:
    """Run the phone in zh-TW (text output) and check that no English sentence is left."""

    def run(*args: str, input: str = "", rc: int = 0) -> Result:
        result = phone.run(*ZH, *args, input=input, as_json=False)
        assert result.rc == rc, result.out + result.err
        assert_chinese(result)
        return result

    return run


def test_every_command_speaks_traditional_chinese(
    world: World, alice: Customer, phone: Phone, zh: Callable[..., Result]
) -> None:
    not_yet = zh("status", rc=1)
    assert not_yet.err.startswith("錯誤：") and not_yet.err.rstrip().endswith("[not_logged_in]")

    login = zh("login", CUSTOMER_A, input=LOGIN_PASSWORD + "\n")
    session = json.loads((phone.home / "session.json").read_text())
    until = show_time(parse_time(session["expires_at"]), language="zh-TW")
    assert re.fullmatch(r"1\d\d/\d\d/\d\d \d\d:\d\d:\d\d", until)  # ROC year, Taipei time
    assert until in login.out
    assert "登入後第一次下單詢問憑證密碼" in login.out

    before = zh("status")
    assert "主機資料庫目前的憑證資訊" in before.out and "代碼 0 (有效憑證)" in before.out
    assert "您的手機中沒有與主機相同之憑證" in before.out

    handoff = world.send(alice)
    wrong = zh("pair", "--payload", handoff.payload, input="not-the-password\n", rc=1)
    assert wrong.err.rstrip().endswith("[wrong_password]") and "--retry" in wrong.err
    assert "pair --retry" in zh("status").out

    paired = zh("pair", "--retry", input=PFX_PASSWORD + "\n")
    valid_to = certificate_time(alice.cert.not_valid_after_utc, language="zh-TW")
    assert re.fullmatch(r"20\d\d/\d\d/\d\d \d\d:\d\d:\d\d", valid_to)  # as the original printed
    assert "憑證終止日" in paired.out and valid_to in paired.out
    assert "沒有等待" in zh("pair", "--give-up").out

    matched = zh("status")
    assert "您的手機中之憑證與主機相同" in matched.out and valid_to in matched.out

    order = zh(*_ORDER, input=PFX_PASSWORD + "\n")
    assert "委託已受理" in order.out and "買進" in order.out

    assert "登入後第一次下單詢問憑證密碼" in zh("security-setting").out
    changed = zh("security-setting", "1", input=PFX_PASSWORD + "\n")
    assert "執行成功" in changed.out and "每次下單均詢問憑證密碼" in changed.out
    refused = zh("security-setting", "3", input=PFX_PASSWORD + "\n", rc=1)  # no credential store
    assert "[credential_store_unavailable]" in refused.err

    other = world.send(alice)
    zh("pair", "--payload", other.payload, input="still-wrong\n", rc=1)
    assert "已刪除" in zh("pair", "--give-up").out

    usage = zh("pair", rc=2)
    assert usage.err.rstrip().endswith("[usage]")
    zh("--server", "https://elsewhere.example:8000", "status", rc=1)

    assert "已登出" in zh("logout").out
    assert "沒有登入" in zh("logout").out
    zh("order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "1", rc=1)


_ORDER = ("order", "--symbol", "2330", "--side", "buy", "--qty", "1000", "--price", "612.50")


def test_a_server_refusal_is_the_catalogue_s_sentence_for_its_code(
    world: World, alice: Customer, phone: Phone, zh: Callable[..., Result]
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    assert phone.pair(handoff.payload).rc == 0
    token = json.loads((phone.home / "session.json").read_text())["token"]
    with pytest.raises(ServerRefused) as refused:
        SyncClient(world.http, token=token).claim_slot(handoff.slot_id)
    exc = refused.value

    again = zh("pair", "--payload", handoff.payload, input=PFX_PASSWORD + "\n", rc=1)

    with use_language("zh-TW"):
        sentence = error_message(exc.code, exc.message, exc.details)
        assert again.err == msg("cli.error", message=sentence, code="slot_spent") + "\n"


def test_a_session_the_server_ended_says_so_in_chinese(
    world: World, alice: Customer, phone: Phone, zh: Callable[..., Result]
) -> None:
    phone.login(CUSTOMER_A)
    world.clock.advance(hours=9)  # past the session's lifetime
    expired = zh("status", rc=1)
    assert expired.err.rstrip().endswith("[unauthenticated]")
    assert "mobile-stub login" in expired.err


# -- --help -------------------------------------------------------------------------------

COMMANDS: tuple[list[str], ...] = (
    [],
    ["login"],
    ["logout"],
    ["pair"],
    ["status"],
    ["order"],
    ["security-setting"],
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] if c else "group")
def test_help_is_chinese_and_fits_80_columns(phone: Phone, command: list[str]) -> None:
    result = phone.run(*ZH, *command, "--help", as_json=False, environ={"COLUMNS": "80"})
    assert result.rc == 0
    assert_chinese(result)
    assert result.out.startswith("用法：")
    for line in result.out.splitlines():
        assert display_width(line) <= 80, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] if c else "group")
def test_help_in_english(phone: Phone, command: list[str]) -> None:
    result = phone.run(*EN, *command, "--help", as_json=False, environ={"COLUMNS": "80"})
    assert result.rc == 0
    assert_english(result)
    assert result.out.startswith("Usage:")
    for line in result.out.splitlines():
        assert len(line) <= 80, line


@pytest.mark.parametrize(
    "args",
    [
        ["order", "--symbol", "2330", "--side", "buy", "--qty", "1"],
        ["order", "--symbol", "2330", "--side", "hold", "--qty", "1", "--price", "1"],
        ["order", "--symbol", "2330", "--side", "buy", "--qty", "0", "--price", "1"],
        ["security-setting", "4"],
        ["pair", "--payload", "x", "--retry"],
        ["login"],
        ["no-such-command"],
        pytest.param(["order", "--symbol", "2330"], id="missing-choice"),
    ],
)
def test_usage_errors_are_chinese(phone: Phone, args: list[str]) -> None:
    result = phone.run(*ZH, *args, as_json=False)
    assert result.rc == 2, result.err
    assert result.err.startswith("錯誤：") and result.err.rstrip().endswith("[usage]")
    assert_chinese(result)


# -- English, and machine output ----------------------------------------------------------


def test_lang_en_speaks_english_throughout(world: World, alice: Customer, phone: Phone) -> None:
    def en(*args: str, input: str = "", rc: int = 0) -> Result:
        result = phone.run(*EN, *args, input=input, as_json=False)
        assert result.rc == rc, result.out + result.err
        assert_english(result)
        return result

    assert "not logged in" in en("status", rc=1).err
    assert "Logged in to" in en("login", CUSTOMER_A, input=LOGIN_PASSWORD + "\n").out
    assert "Verdict: No certificate on this phone" in en("status").out
    paired = en("pair", "--payload", world.send(alice).payload, input=PFX_PASSWORD + "\n")
    assert "is now on this phone" in paired.out
    status = en("status")
    assert "Certificate at the host" in status.out
    assert "Verdict: The certificate on this phone matches the host." in status.out
    assert "Order accepted: buy 1000 2330" in en(*_ORDER, input=PFX_PASSWORD + "\n").out
    assert "ask on the first order after each login" in en("security-setting").out
    assert "Logged out" in en("logout").out


def test_json_stays_english_and_untranslated(world: World, alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    result = phone.run(*ZH, "status", environ={"LANG": "zh_TW.UTF-8"})
    assert result.rc == 0
    assert_english(result)
    assert result.json["verdict"] == "none_on_phone"
    assert result.json["message"] == "No certificate on this phone matches the host."
    assert result.json["host"]["label"] == "valid"
    refused = phone.run(*ZH, "order", "--symbol", "2330", "--side", "buy", "--qty", "1",
                        "--price", "1")  # fmt: skip
    assert refused.rc == 1 and refused.code == "no_certificate_on_phone"
    assert_english(refused)

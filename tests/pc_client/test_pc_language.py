"""``pc-client`` in the customer's language: which language a run speaks, times as a Taiwanese
customer reads them, tables in terminal cells, and every command walked through in zh-TW (no
English sentence may be left) and in English (no Chinese may be left).

The walk-throughs run the real commands in process against the real server (``pc_harness``);
the language comes from the OS locale (``LANG=zh_TW.UTF-8``) or ``--lang``, as a customer's would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2
import pytest
from pc_harness import (
    CUSTOMER,
    LOGIN_PASSWORD,
    NEW_PFX_PASSWORD,
    PFX_PASSWORD,
    Pc,
    Run,
    Server,
    dropping_client,
)

from pc_client.cli import COMMANDS
from pc_client.language import language_for_run
from pc_client.messages import status_label_text, verdict_text
from sync_client import display
from sync_client.i18n import (
    LANGUAGES,
    Language,
    choose_language,
    msg,
    parse_language,
    system_language,
    use_language,
)
from sync_client.refusals import error_message
from sync_client.verdict import Verdict

ZH = {"LANG": "zh_TW.UTF-8"}

# -- which language a run speaks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zh_TW.UTF-8", "zh-TW"),
        ("zh-TW", "zh-TW"),
        ("zh_HK.Big5-HKSCS", "zh-TW"),
        ("zh_MO", "zh-TW"),
        ("zh_Hant", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("Chinese (Traditional)_Taiwan.950", "zh-TW"),
        ("en_US.UTF-8", "en"),
        ("en", "en"),
        ("zh_CN.UTF-8", None),
        ("zh-Hans", None),
        ("C", None),
        ("C.UTF-8", None),
        ("POSIX", None),
        ("fr_FR", None),
        ("", None),
    ],
)
def test_locale_names_map_to_our_languages(raw: str, expected: str | None) -> None:
    assert parse_language(raw) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_TW.UTF-8"}, "zh-TW"),
        ({"LANG": "zh_HK.UTF-8"}, "zh-TW"),
        ({"LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        # POSIX order: LC_ALL, then LC_MESSAGES, then LANG; the first one set decides.
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "zh_TW", "LANG": "zh_TW"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh-TW"),
        ({"LC_MESSAGES": "zh_Hant", "LANG": "en_US.UTF-8"}, "zh-TW"),
        ({"LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_TW.UTF-8"}, "zh-TW"),
        ({"LC_ALL": "C", "LANG": "zh_TW.UTF-8"}, "en"),
        # The program's own variable beats the OS locale.
        ({"PC_CLIENT_LANG": "zh-TW", "LANG": "en_US.UTF-8"}, "zh-TW"),
        ({"PC_CLIENT_LANG": "en", "LC_ALL": "zh_TW.UTF-8"}, "en"),
        ({"PC_CLIENT_LANG": "klingon", "LANG": "zh_TW.UTF-8"}, "zh-TW"),
    ],
)
def test_the_environment_decides_without_a_flag(
    tmp_path: Path, environ: dict[str, str], expected: str
) -> None:
    args = ["--home", str(tmp_path), "status"]
    assert language_for_run(args, environ) == expected


def test_the_flag_beats_the_variable_which_beats_what_the_store_remembers(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"language": "zh-TW"}))
    home = ["--home", str(tmp_path)]
    english = {"LANG": "en_US.UTF-8"}

    assert language_for_run([*home, "status"], english) == "zh-TW"  # remembered beats LANG
    assert language_for_run([*home, "status"], {"PC_CLIENT_LANG": "en"}) == "en"
    assert language_for_run([*home, "--lang", "en", "status"], {}) == "en"
    assert language_for_run([*home, "--lang=en", "status"], {"PC_CLIENT_LANG": "zh-TW"}) == "en"
    # PC_CLIENT_HOME finds the remembered choice too.
    assert language_for_run(["status"], {**english, "PC_CLIENT_HOME": str(tmp_path)}) == "zh-TW"


def test_json_is_always_english(tmp_path: Path) -> None:
    args = ["--home", str(tmp_path), "--lang", "zh-TW", "--json", "status"]
    assert language_for_run(args, {"PC_CLIENT_LANG": "zh-TW", "LANG": "zh_TW.UTF-8"}) == "en"


def test_a_damaged_settings_file_is_no_reason_to_fail(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    assert language_for_run(["--home", str(tmp_path), "status"], ZH) == "zh-TW"


def test_only_windows_falls_back_to_the_process_locale() -> None:
    # Elsewhere the variables are the whole answer: an environment without them is English,
    # whatever locale this test process happens to run in.
    assert system_language({}, windows=False) is None
    assert choose_language(flag=None, environ={}, variable="PC_CLIENT_LANG") == "en"


def test_a_successful_lang_run_is_remembered_and_a_failed_one_is_not(pc: Pc) -> None:
    pc.server.add_customer()
    refused = pc.run("--lang", "zh-TW", "login", CUSTOMER, input="wrong-password\n")
    assert refused.code == 1
    assert not (pc.home / "settings.json").exists() or "language" not in _settings(pc)

    pc.run("--lang", "zh-TW", "login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False)
    assert _settings(pc)["language"] == "zh-TW"
    # The next run, with no flag and an English locale, still speaks Chinese.
    pc.environ["LANG"] = "en_US.UTF-8"
    assert "憑證查詢暨憑證資料檢核" in pc.run("status", json_output=False).out
    # Until the customer chooses otherwise.
    assert "Certificate check" in pc.run("--lang", "en", "status", json_output=False).out
    assert _settings(pc)["language"] == "en"
    assert "Certificate check" in pc.run("status", json_output=False).out


def _settings(pc: Pc) -> dict[str, object]:
    data = json.loads((pc.home / "settings.json").read_text())
    assert isinstance(data, dict)
    return data


# -- time as a Taiwanese customer reads it ---------------------------------------------------

TAIPEI = ZoneInfo("Asia/Taipei")


@pytest.mark.parametrize(
    ("moment", "roc", "gregorian"),
    [
        # 15:59:59 UTC is still the same day in Taipei; one second later it is the next one.
        (
            datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC),
            "115/12/01 23:59:59",
            "2026/12/01 23:59:59",
        ),
        (datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC), "115/12/02 00:00:00", "2026/12/02 00:00:00"),
        # Just after midnight UTC it is already morning in Taipei.
        (datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC), "115/12/02 08:00:01", "2026/12/02 08:00:01"),
        # New Year's Eve in UTC is New Year's Day in Taipei, and ROC year 116.
        (datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC), "116/01/01 00:00:00", "2027/01/01 00:00:00"),
        # The original's own example: 102/04/11 16:29:38.
        (datetime(2013, 4, 11, 8, 29, 38, tzinfo=UTC), "102/04/11 16:29:38", "2013/04/11 16:29:38"),
    ],
)
def test_zh_tw_times_are_taipei_with_the_roc_year(
    moment: datetime, roc: str, gregorian: str
) -> None:
    assert display.show_time(moment, language="zh-TW") == roc
    assert display.show_date(moment, language="zh-TW") == roc.split()[0]
    assert display.certificate_time(moment, language="zh-TW") == gregorian
    # Whatever the PC's own zone is: Taipei is Taipei.
    assert display.show_time(moment, language="zh-TW", zone=ZoneInfo("America/New_York")) == roc


def test_english_times_are_the_pcs_zone_with_its_offset() -> None:
    moment = datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC)
    assert display.show_time(moment, language="en", zone=UTC) == "2026-12-01 16:00:00 +00:00"
    assert display.show_time(moment, language="en", zone=TAIPEI) == "2026-12-02 00:00:00 +08:00"
    newfoundland = ZoneInfo("America/St_Johns")
    assert display.show_time(moment, language="en", zone=newfoundland) == (
        "2026-12-01 12:30:00 -03:30"
    )
    assert display.show_date(moment, language="en", zone=TAIPEI) == "2026-12-02"
    assert display.certificate_time(moment, language="en", zone=UTC) == (
        "2026-12-01 16:00:00 +00:00"
    )
    # Without a zone: the PC's (the tests pin TZ=UTC).
    assert display.show_time(moment, language="en") == "2026-12-01 16:00:00 +00:00"


def test_times_follow_the_current_language_and_none_is_a_dash() -> None:
    moment = datetime(2026, 12, 1, 16, 0, 0, tzinfo=UTC)
    with use_language("zh-TW"):
        assert display.show_time(moment) == "115/12/02 00:00:00"
    with use_language("en"):
        assert display.show_time(moment) == "2026-12-01 16:00:00 +00:00"
    assert display.show_time(None) == display.certificate_time(None) == "-"
    # A time without a zone is UTC, as the protocol writes every time.
    naive = datetime(2026, 12, 1, 16, 0, 0)
    assert display.show_time(naive, language="zh-TW") == "115/12/02 00:00:00"


def test_refusal_details_that_are_times_are_shown_in_the_language() -> None:
    details = {"locked_until": "2026-12-01T16:05:00Z"}
    with use_language("zh-TW"):
        text = error_message("account_locked", "fallback", details)
        assert "115/12/02 00:05:00" in text and "鎖定" in text
    with use_language("en"):
        text = error_message("account_locked", "fallback", details)
        assert "2026-12-01 16:05:00 +00:00" in text
    # Other details are filled in as they are; a code we do not know keeps the server's words.
    with use_language("zh-TW"):
        assert "2 次" in error_message("enrollment_code_invalid", "x", {"tries_left": 2})
        assert error_message("no_such_code", "the server's words") == "the server's words"


# -- the terminal: display cells, tables that fit 80 columns -------------------------------


def test_display_width_counts_cjk_as_two_cells() -> None:
    assert display.display_width("abc") == 3
    assert display.display_width("憑證") == 4
    assert display.display_width("憑證CN：") == 8
    assert display.display_width("e\u0301") == 1  # a combining accent takes no cell
    assert display.pad("憑證", 6) == "憑證  "


def test_cjk_wraps_between_characters_keeping_punctuation_in_place() -> None:
    lines = display.wrap("請使用「憑證匯入」功能匯入最新有效的憑證。", 10)
    assert all(display.display_width(line) <= 10 for line in lines)
    assert "".join(lines) == "請使用「憑證匯入」功能匯入最新有效的憑證。"
    assert not any(line[0] in "，。）」" for line in lines)
    assert not any(line[-1] in "（「" for line in lines)
    # Latin text breaks at spaces; a word longer than a line is cut.
    assert display.wrap("the quick brown fox", 10) == ["the quick", "brown fox"]
    assert display.wrap("/a/very/long/path/name", 8) == ["/a/very/", "long/", "path/", "name"]
    assert display.wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wide_table_fits_80_columns_and_keeps_its_columns(language: Language) -> None:
    serial = "33806091041082080330 (0x01D53E6A5D2C3F8E1A)"
    with use_language(language):
        host, client = msg("status.host"), msg("status.client")
        rows = [
            [msg("status.row.folder"), "", "/home/someone/with/a/rather/long/path/to/BTS"],
            [msg("status.row.status"), status_label_text(0), ""],
            [msg("status.row.serial"), serial, serial],
            [msg("status.row.security"), "", "2 (" + msg("setting.description.2") + ")"],
        ]
        lines = display.table(["", host, client], rows)
    assert max(display.display_width(line) for line in lines) <= 80

    def cells_before(line: str, index: int) -> int:
        return display.display_width(line[:index])

    header = lines[0]
    columns = [cells_before(header, header.index(host)), cells_before(header, header.index(client))]
    serial_line = next(line for line in lines if "33806091041082080330" in line)
    found = [cells_before(serial_line, m.start()) for m in re.finditer("3380", serial_line)]
    assert found == columns  # both serials start under their headings, in display cells
    # What did not fit on the line went onto the next, in the same columns.
    below = lines[lines.index(serial_line) + 1]
    hex_part = [cells_before(below, m.start()) for m in re.finditer(r"\(0x", below)]
    assert hex_part == columns


def test_a_narrow_table_is_left_as_it_is() -> None:
    lines = display.table(["名稱", "值"], [["憑證CN", "A123456789"], ["憑證序號", "9 (0x09)"]])
    assert lines == [
        "名稱      值",
        "--------  ----------",
        "憑證CN    A123456789",
        "憑證序號  9 (0x09)",
    ]


# -- every command, in zh-TW and in English ---------------------------------------------------

# What may stay in Latin letters inside a Chinese sentence: codes, paths, URLs, IDs, numbers,
# command names and flags, metavars, and the names of things that have no Chinese name.
_ALLOWED = [
    r"\[[a-z0-9_]+\]",  # [code]
    r"\[[^\]\s]*\]",  # [OPTIONS], [y/N], [rsa|ec], [1<=x<=3]
    r"https?://[^\s）」，。]+",
    r"\{\"error\": code, \"message\": \.\.\.\}",  # the JSON error shape in --help
    r"(?:[A-Za-z]:)?(?:[~.]?/[\w.<>\-]+)+/?",  # paths
    r"\b[A-Z][A-Z0-9]\d{8}\b",  # customer IDs
    r"\b0x[0-9A-F]+\b",
    r"(?:pc|mobile)-client|mobile-stub",
    r"--?[a-z][a-z-]*",  # flags
    r"\b[A-Z][A-Z0-9_]+\b",  # METAVARS, ENV_VARS, QR, APP, PFX, CN, RSA
    r"\b[\w.-]+\.(?:pfx|png|json)\b",
    r"\b[a-z]+(?:[-_][a-z0-9]+)+\b",  # hyphenated names: pfx-staged, security-setting, slot_id
    r"\b(?:CertSync|OpenSSL|Python|cryptography|Ctrl-C|base64url|PKCS#12|payload|slot_id|"
    r"expires_at|qr_png|outcome|claimed|expired|cancelled|open|match|no_local_match|"
    r"mismatch|stdout|stderr|zh-TW|en|y|N)\b",
    r"\b(?:apply|status|renew|export|import|passwd|security-setting|doctor|pair|login|logout|"
    r"order|redownload)\b",  # command names
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b",  # OpenSSL's build date
    r"[A-Za-z]*\d[\w.:+-]*",  # numbers, versions, times, serials
]
_ALLOWED_RE = re.compile("|".join(f"(?:{p})" for p in _ALLOWED))
# Two or more Latin words in a row, with only ASCII spaces or punctuation between them.
_ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ \t,.;:'\"()/-]+[A-Za-z]{2,})+")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def english_left(text: str) -> list[str]:
    """Runs of English words in ``text`` once the allowed tokens are taken out."""
    return _ENGLISH_RUN.findall(_ALLOWED_RE.sub(" ", text))


def test_the_english_detector_catches_english_and_allows_codes() -> None:
    assert english_left("錯誤：憑證密碼錯誤。 [wrong_password]") == []
    assert english_left("請使用「憑證匯入」功能（指令：pc-client import PATH）。") == []
    assert english_left("可連線（http://127.0.0.1:8765）/tmp/x/BTS/A123456789.pfx") == []
    assert english_left("OpenSSL 3.0.13 30 Jan 2024") == []
    assert english_left("錯誤：The PFX password is wrong. [wrong_password]") != []
    assert english_left("憑證狀態  0 valid soon") != []


class Walk:
    """One PC walking through every command, collecting what each printed."""

    def __init__(self, pc: Pc, *lang: str) -> None:
        self.pc = pc
        self.lang = list(lang)
        self.outputs: list[tuple[str, str]] = []

    def run(
        self, *args: str, input: str = "", ok: bool = True, http: httpx2.Client | None = None
    ) -> Run:
        result = self.pc.run(*self.lang, *args, input=input, json_output=False, http=http)
        if ok:
            assert result.code == 0, (args, result.err)
        self.outputs.append((" ".join(args), result.out + result.err))
        return result

    def everything(self, renewal: Pc | None = None) -> None:
        """Help of every command, then the customer's year: log in, check, apply, back up,
        move, change the password and the setting, check the PC, pair, order, and the usual
        refusals."""
        self.run("--help")
        for name in COMMANDS:
            self.run(name, "--help")
        self.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n")
        self.run("status")
        slip = self.pc.server.slip()
        self.run("apply", "--agree", "--security-setting", "2", "--key-type", "ec",
                 input=f"{slip}\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n")  # fmt: skip
        self.run("status")
        backup = self.pc.home.parent / "usb"
        backup.mkdir()
        self.run("export", str(backup), input=f"{PFX_PASSWORD}\n")
        (self.pc.home / f"{CUSTOMER}.pfx").unlink()  # as on a new computer: only the USB copy
        self.run("status")  # nothing matches the host: import the latest valid certificate
        self.run("import", str(backup), "--security-setting", "2", input=f"{PFX_PASSWORD}\n")
        self.run("passwd", input=f"{PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n")
        self.run("security-setting")
        self.run("security-setting", "1", input=f"{NEW_PFX_PASSWORD}\n")
        self.run("doctor")
        self.run("pair", "--no-wait", input=f"{NEW_PFX_PASSWORD}\n")
        self.run("order", "--symbol", "2330", "--side", "buy", "--qty", "1000",
                 "--price", "612.50", input=f"{NEW_PFX_PASSWORD}\n")  # fmt: skip
        # Refusals a customer meets.
        self.run("renew", "--agree", ok=False)  # not inside the renewal window
        self.run("redownload", ok=False)  # nothing to finish
        self.run("export", str(backup), input="wrongpass1\n", ok=False)
        self.run("passwd", input=f"{NEW_PFX_PASSWORD}\nab\nab\n", ok=False)  # too short
        self.run("export", str(backup / "missing"), input=f"{NEW_PFX_PASSWORD}\n", ok=False)
        self.run("import", str(backup / "missing.pfx"), input="x\n", ok=False)
        self.run("order", "--symbol", "2330", "--side", "buy", "--qty", "1",
                 "--price", "1.234", ok=False)  # fmt: skip
        self.run("security-setting", "4", ok=False)
        self.run("frobnicate", ok=False)  # a usage error: click's words
        self.run("export", ok=False)  # a missing argument
        self.run("logout")
        self.run("status", ok=False)  # not logged in
        self.run("login", "A12345678", ok=False)  # not an ID
        self.run("login", CUSTOMER, input="wrong-password\n", ok=False)

    def interrupted_apply_then_redownload(self) -> None:
        """An apply whose answer was lost, then the re-download customer service opens."""
        self.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n")
        lossy = dropping_client(self.pc.server, "/api/v1/certificate/apply")
        slip = self.pc.server.slip()
        answers = f"{slip}\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n"
        self.run("apply", "--agree", "--security-setting", "2", "--key-type", "ec",
                 input=answers, http=lossy, ok=False)  # fmt: skip
        self.run("status")
        self.run("redownload", input=f"{PFX_PASSWORD}\n", ok=False)  # not opened yet
        self.pc.server.open_redownload()
        self.run("redownload", input=f"{PFX_PASSWORD}\n")

    def renewal(self) -> None:
        """A renewal inside the window, with the reminder at login."""
        self.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n")
        self.run("status")
        self.run("renew", "--agree", "--key-type", "ec",
                 input=f"{PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n")  # fmt: skip


@pytest.fixture
def zh_pc(pc: Pc, customer: str) -> Iterator[Pc]:
    pc.environ.update(ZH)
    yield pc


def _assert_chinese(walk: Walk) -> None:
    problems = [(args, english_left(text)) for args, text in walk.outputs]
    problems = [(args, runs) for args, runs in problems if runs]
    assert problems == [], "English left in zh-TW output:\n" + "\n".join(
        f"  pc-client {args}: {runs}" for args, runs in problems
    )
    silent = [args for args, text in walk.outputs if not _CJK.search(text)]
    assert silent == [], f"no Chinese at all in: {silent}"


# ``ui --help`` names the page's button as the page shows it by default (關閉視窗, Close window).
_CHINESE_ALLOWED_IN_ENGLISH = ("關閉視窗",)


def _assert_english(walk: Walk) -> None:
    def chinese_in(text: str) -> list[str]:
        for name in _CHINESE_ALLOWED_IN_ENGLISH:
            text = text.replace(name, "")
        return _CJK.findall(text)[:10]

    chinese = [(args, chinese_in(text)) for args, text in walk.outputs]
    chinese = [(args, found) for args, found in chinese if found]
    assert chinese == [], f"Chinese left in English output: {chinese}"


def test_every_command_speaks_traditional_chinese(zh_pc: Pc) -> None:
    walk = Walk(zh_pc)
    walk.everything()
    _assert_chinese(walk)
    text = "\n".join(out for _, out in walk.outputs)
    # The original's own words.
    for phrase in (
        "憑證查詢暨憑證資料檢核",
        "主機資料庫目前的憑證資訊",
        "用戶端的憑證資訊",
        "憑證CN",
        "憑證狀態",
        "憑證序號",
        "憑證起始日",
        "憑證終止日",
        "憑證路徑",
        "憑證檔案",
        "安全設定值",
        "您的電腦中沒有與主機相同之憑證",
        "請使用「憑證匯入」功能匯入最新有效的憑證",
        "憑證下載成功",
        "憑證匯出成功",
        "密碼變更成功",
        "登入後第一次下單詢問憑證密碼",
        "每次下單均詢問憑證密碼",
        "設定調整項目",
        "您目前的設定",
        "建議：請至「憑證匯出」功能備份您的新憑證檔案",
        "行動下單用戶需重新執行「憑證上傳手機」功能",
        "請自行設定憑證密碼，密碼長度最少",
    ):
        assert phrase in text, phrase


def test_interrupted_apply_and_redownload_speak_traditional_chinese(zh_pc: Pc) -> None:
    walk = Walk(zh_pc)
    walk.interrupted_apply_then_redownload()
    _assert_chinese(walk)
    assert "憑證重新下載" in walk.outputs[1][1]


def test_renewal_speaks_traditional_chinese(
    tmp_path: Path, renewal_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    renewal_server.add_customer()
    pc = Pc(tmp_path / "BTS", renewal_server, capsys)
    pc.login()
    pc.apply()
    pc.environ.update(ZH)
    walk = Walk(pc)
    walk.renewal()
    _assert_chinese(walk)
    login, status, renew = (text for _, text in walk.outputs)
    assert "憑證更新、展期" in login  # the reminder
    assert "代碼 31 (即將到期)" in status or "31 即將到期" in status
    assert "憑證下載成功" in renew


def test_zh_tw_shows_the_originals_codes_and_taipei_times(zh_pc: Pc) -> None:
    """The status table as the original printed it: 代碼 0 (有效憑證), certificate dates in
    Taipei time, never the protocol's UTC ``Z`` times."""
    walk = Walk(zh_pc)
    walk.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n")
    zh_pc.apply()
    status = walk.run("status").out
    assert "代碼 0 (有效憑證)" in status
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status), status
    data = zh_pc.ok("status")  # --json: UTC, English
    not_after = datetime.fromisoformat(data["host"]["not_after"].replace("Z", "+00:00"))
    assert display.certificate_time(not_after, language="zh-TW") in status


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_every_command_speaks_english_when_asked(zh_pc: Pc, how: str) -> None:
    # The OS locale says Chinese; --lang en (or PC_CLIENT_LANG=en) says otherwise.
    if how == "variable":
        zh_pc.environ["PC_CLIENT_LANG"] = "en"
        walk = Walk(zh_pc)
    else:
        walk = Walk(zh_pc, "--lang", "en")
    walk.everything()
    _assert_english(walk)
    text = "\n".join(out for _, out in walk.outputs)
    for sentence in (
        "Certificate check for A123456789",
        "No certificate on this computer matches the host.",
        "The certificate on this computer matches the host.",
        "Your certificate was issued.",
        "Usage: pc-client",
        "error: ",
    ):
        assert sentence in text, sentence


def test_json_stays_english_and_utc_in_a_chinese_locale(zh_pc: Pc) -> None:
    zh_pc.login()
    zh_pc.apply()
    data = zh_pc.ok("status")
    assert data["message"] == "The certificate on this computer matches the host."
    assert data["host"]["not_after"].endswith("Z")
    refused = zh_pc.run("export", str(zh_pc.home / "nowhere"), input=f"{PFX_PASSWORD}\n")
    assert refused.data["error"] == "no_folder" and not _CJK.search(refused.out)


def test_the_verdicts_and_labels_come_from_the_catalogue() -> None:
    with use_language("zh-TW"):
        assert verdict_text(Verdict.NO_LOCAL_MATCH) == "您的電腦中沒有與主機相同之憑證"
        assert verdict_text("mismatch") == "憑證不相符"
        assert status_label_text(0) == "代碼 0 (有效憑證)"
        assert status_label_text(31) == "代碼 31 (即將到期)"
        assert status_label_text(99) == "99"
    with use_language("en"):
        assert status_label_text(31) == "31 expiring soon"


def test_login_time_is_shown_in_taipei_time_in_zh_tw(zh_pc: Pc) -> None:
    out = Walk(zh_pc).run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n").out
    found = re.search(r"\b(1\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)\b", out)
    assert found, out
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    until = datetime(year + 1911, month, day, hour, minute, second, tzinfo=TAIPEI)
    # The session ends later today or tomorrow, in Taipei time: not 8 hours off.
    assert timedelta(0) < until - datetime.now(TAIPEI) <= timedelta(days=1)

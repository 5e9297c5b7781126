"""The customer's page in a real Chromium, end to end: every function, with the mouse.

The real ``sync-server`` runs on a loopback port; ``pc-client ui --no-browser`` runs as a
subprocess, as the customer would start it (with a Chinese locale, so the page is zh-TW); the
system's ``chromium`` opens the launch URL it prints. The phone is the real ``mobile-stub``,
given the payload decoded from a screenshot of the QR code the page shows (zxing-cpp).

Certificates are valid for a day and the renewal window is 20 s shorter, so a new certificate
shows 代碼 0 for 20 s and then 代碼 31: the walk checks the match first, and renews later.

A screenshot of each screen is saved under ``$CERTSYNC_SCREENSHOTS`` (else a pytest folder;
the path is printed), at 1024×768 and for some screens at 1920×1080 too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import Shots, UiProcess, chromium_path, launch_chromium
from e2e_support import ServerProcess, console_script, running_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        chromium_path() is None, reason="the browser tests need the system's chromium package"
    ),
]

CUSTOMER = "F123456784"
PFX_PASSWORD = "pfxpass1"
CHANGED_PASSWORD = "changed22"
RENEWED_PASSWORD = "renewed33"
ZH_LOCALE = {"LANG": "zh_TW.UTF-8"}
SMALL = {"width": 1024, "height": 768}
LARGE = {"width": 1920, "height": 1080}
ROC_TIME = re.compile(r"^1\d\d/\d\d/\d\d \d\d:\d\d:\d\d$")
TIMEOUT_MS = 20_000
WATCH_BUSY = """() => {
  const busy = document.getElementById("busy");
  new MutationObserver(() => {
    if (!busy.hidden) sessionStorage.setItem("busy-seen", busy.innerText);
  }).observe(busy, { attributes: true });
}"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Walk:
    """What the walk shares: the server, the customer, a browser, the screenshots."""

    server: ServerProcess
    login_password: str
    tmp: Path
    browser: Any
    shots: Shots

    def ui(self, name: str) -> UiProcess:
        home = self.tmp / name / "home"
        (home / "Desktop" / "backup").mkdir(parents=True)
        return UiProcess(self.server, home / "BTS", home, ZH_LOCALE)

    def open(self, ui: UiProcess) -> Any:
        context = self.browser.new_context(viewport=SMALL, locale="zh-TW")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(ui.start())
        return page

    def login(self, page: Any) -> None:
        page.get_by_label("身分證字號").fill(CUSTOMER)
        page.get_by_label("登入密碼").fill(self.login_password)
        page.get_by_role("button", name="登入").click()
        page.wait_for_url(re.compile(r"/$"))

    def phone(self, *args: str, answers: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "MOBILE_STUB_HOME": str(self.tmp / "phone")}
        return subprocess.run(
            [console_script("mobile-stub"), "--server", self.server.url, "--json", *args],
            input=answers, capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("srv"), SYNC_CERT_VALIDITY="1d", SYNC_RENEWAL_WINDOW="23h59m40s"
    ) as running:
        yield running


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    raw = os.environ.get("CERTSYNC_SCREENSHOTS", "").strip()
    folder = Path(raw) if raw else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the customer's page: {folder}")
    return Shots(folder)


@pytest.fixture
def walk(server: ServerProcess, tmp_path: Path, shots: Shots) -> Iterator[Walk]:
    from playwright.sync_api import sync_playwright

    added = server.admin_json(
        "customer-add", CUSTOMER, "--name", "瀏覽器客戶", "--generate-password"
    )
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield Walk(server, added["password"], tmp_path, browser, shots)
        finally:
            browser.close()


def _menu(page: Any, label: str) -> Any:
    return page.locator("nav.menu").get_by_role("link", name=label, exact=True)


def _disabled(page: Any) -> list[str]:
    # The label, without the reason that follows it for screen readers.
    return [t.split("\n")[0].strip() for t in page.locator("nav.menu .disabled").all_inner_texts()]


def _status_code(page: Any) -> str:
    return str(page.locator(".info-table").first.locator("tr", has_text="憑證狀態").inner_text())


def test_the_ten_functions_in_a_real_browser(walk: Walk) -> None:
    from playwright.sync_api import expect

    first = walk.ui("pc1")
    second = walk.ui("pc2")
    pfx = first.store / f"{CUSTOMER}.pfx"
    try:
        page = walk.open(first)
        shots = walk.shots

        # -- login, in Traditional Chinese by default; 現在時間 ticks in ROC/Taipei time --------
        expect(page.locator("h1")).to_have_text("登入")
        expect(page.locator(".system")).to_have_text("憑證註冊系統")
        clock = page.locator("#clock")
        shown = clock.inner_text()
        assert ROC_TIME.match(shown), shown
        expect(clock).not_to_have_text(shown, timeout=3000)  # it ticks
        assert ROC_TIME.match(clock.inner_text())
        expect(page.locator("footer")).to_contain_text("客服中心")
        shots.take(page, "login")
        walk.login(page)

        # -- function 1 before any certificate ---------------------------------------------------
        expect(page.locator("h1")).to_have_text("憑證查詢暨憑證資料檢核")
        expect(page.locator("#verdict")).to_contain_text("您的電腦中沒有與主機相同之憑證")
        assert "代碼 40" in _status_code(page)
        assert {"憑證匯出", "憑證上傳手機", "憑證更新、展期"} <= set(_disabled(page))
        shots.take(page, "status-no-certificate")

        # -- function 2: a mistyped slip code first (refused beside the field, nothing changes) --
        slip = walk.server.admin_json("enrollment-code", CUSTOMER)["enrollment_code"]
        _menu(page, "用戶線上憑證申請").click()
        page.get_by_label("請輸入憑證密碼（憑證密碼單上的密碼）").fill("WRONG-CODE-1")
        page.get_by_role("button", name="送出").click()
        expect(page.locator(".error-summary")).to_contain_text("憑證密碼單上的密碼不正確")
        expect(page.locator("#enrollment_code-error")).to_contain_text("您還可以再試")
        assert not pfx.exists() and not list(first.store.glob("*.pending.json"))
        shots.take(page, "apply-wrong-slip-code")

        page.get_by_label("請輸入憑證密碼（憑證密碼單上的密碼）").fill(slip)
        page.get_by_role("button", name="送出").click()
        expect(page.locator("h2")).to_have_text("約定條款")
        shots.take(page, "apply-terms")
        page.get_by_label("我同意上述約定條款").check()
        page.get_by_role("button", name="繼續").click()
        expect(page.locator(".hint").first).to_be_visible()
        expect(page.get_by_text("密碼長度最少 4 位數以上")).to_be_visible()
        expect(page.get_by_label("2. 登入後第一次下單詢問憑證密碼")).to_be_checked()
        page.get_by_label("請輸入新憑證密碼").fill(PFX_PASSWORD)
        page.get_by_label("請確認新憑證密碼").fill(PFX_PASSWORD)
        shots.take(page, "apply-password")
        # 「系統進行憑證資料處理中，請稍後」 shows while the page waits: an observer notes it in
        # the tab's sessionStorage, which outlives the navigation to the answer.
        page.evaluate(WATCH_BUSY)
        page.get_by_role("button", name="憑證下載").click()
        expect(page.locator("#done")).to_contain_text("憑證下載成功")
        seen = page.evaluate("sessionStorage.getItem('busy-seen')")
        assert seen is not None and "系統進行憑證資料處理中，請稍後" in seen
        expect(page.locator("main")).to_contain_text("請至左方「憑證匯出」功能備份您的新憑證檔案")
        expect(page.locator("main")).to_contain_text("行動下單用戶需重新執行「憑證上傳手機」功能")
        shots.take(page, "apply-done")
        # How the waiting looked (a screenshot cannot be taken while a navigation is pending).
        page.evaluate("document.getElementById('busy').hidden = false")
        shots.take(page, "busy", full_page=False)
        page.evaluate("document.getElementById('busy').hidden = true")
        assert pfx.exists()

        # -- function 1: 代碼 0 and the match ------------------------------------------------------
        _menu(page, "憑證查詢暨憑證資料檢核").click()
        assert "代碼 0 (有效憑證)" in _status_code(page)
        expect(page.locator("#verdict")).to_contain_text("用戶端的憑證資訊與主機端的憑證資訊相符")
        expect(page.locator(".info-table").nth(1)).to_contain_text(f"{CUSTOMER}.pfx")
        shots.take(page, "status-match")
        page.set_viewport_size(LARGE)
        shots.take(page, "status-match-1920")
        page.set_viewport_size(SMALL)

        # -- refused: apply while a valid certificate exists ------------------------------------
        assert "用戶線上憑證申請" in _disabled(page)
        before = _digest(pfx)
        page.goto(first.base_url + "/apply")
        expect(page.locator(".error-summary")).to_contain_text("您已有有效憑證，無須重新申請")
        assert _digest(pfx) == before
        shots.take(page, "apply-refused-valid")

        # -- function 6: export to a folder chosen in the folder browser --------------------------
        _menu(page, "憑證匯出").click()
        page.get_by_role("link", name="瀏覽").click()
        page.locator(".places").get_by_role("link", name="桌面").click()
        page.locator(".folder-list").get_by_role("link", name="backup").click()
        expect(page.locator("#current-folder")).to_contain_text("backup")
        shots.take(page, "export-folder-browser")
        page.get_by_role("button", name="確定").click()
        backup = first.home / "Desktop" / "backup"
        expect(page.locator("#chosen-folder")).to_have_text(str(backup))
        page.get_by_label("請輸入憑證密碼").fill("not-the-password")
        page.get_by_role("button", name="執行匯出").click()
        expect(page.locator("#password-error")).to_contain_text("憑證密碼錯誤")
        expect(page.locator(".error-summary")).to_contain_text("憑證密碼錯誤")
        assert not any(backup.iterdir())
        shots.take(page, "export-wrong-password")
        page.get_by_label("請輸入憑證密碼").fill(PFX_PASSWORD)
        page.get_by_role("button", name="執行匯出").click()
        expect(page.locator("#done")).to_contain_text("憑證匯出成功")
        shots.take(page, "export-done")
        exported = backup / f"{CUSTOMER}.pfx"
        assert exported.read_bytes() == pfx.read_bytes()

        # -- function 8: the PFX password ---------------------------------------------------------
        _menu(page, "憑證檔(PFX)密碼變更").click()
        page.get_by_label("請輸入原憑證密碼").fill(PFX_PASSWORD)
        page.get_by_label("請輸入新憑證密碼").fill(CHANGED_PASSWORD)
        page.get_by_label("請確認新憑證密碼").fill(CHANGED_PASSWORD)
        shots.take(page, "passwd")
        page.get_by_role("button", name="執行密碼變更").click()
        expect(page.locator("#done")).to_contain_text("密碼變更成功")

        # -- function 9: the security setting -----------------------------------------------------
        _menu(page, "憑證密碼安全設定").click()
        page.get_by_label("1. 每次下單均詢問憑證密碼").check()
        page.get_by_label("請輸入憑證密碼").fill(CHANGED_PASSWORD)
        shots.take(page, "security-setting")
        page.get_by_role("button", name="變更安全設定").click()
        expect(page.locator("#done")).to_contain_text("執行成功")
        _menu(page, "憑證查詢暨憑證資料檢核").click()
        expect(page.locator(".info-table").nth(1)).to_contain_text("1 (每次下單均詢問憑證密碼)")

        # -- once in English -----------------------------------------------------------------------
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Certificate query and check")
        expect(page.locator("caption").nth(1)).to_have_text("This computer's certificate")
        expect(page.locator("#verdict")).to_contain_text("matches the host")
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$", clock.inner_text())
        shots.take(page, "status-english")
        page.set_viewport_size(LARGE)
        shots.take(page, "status-english-1920")
        page.set_viewport_size(SMALL)
        page.get_by_role("button", name="中文").click()
        expect(page.locator("h1")).to_have_text("憑證查詢暨憑證資料檢核")

        # -- function 4: renewal, once the window opens (代碼 31) ----------------------------------
        deadline = time.monotonic() + 40
        while "代碼 31" not in _status_code(page):
            assert time.monotonic() < deadline, "the renewal window never opened"
            page.wait_for_timeout(1000)
            page.reload()
        expect(page.locator("#verdict")).to_contain_text("憑證更新、展期")
        shots.take(page, "status-expiring")
        _menu(page, "憑證更新、展期").click()
        page.get_by_label("我同意上述約定條款").check()
        page.get_by_role("button", name="繼續").click()
        page.get_by_label("請輸入原憑證密碼").fill(CHANGED_PASSWORD)
        page.get_by_label("請輸入新憑證密碼").fill(RENEWED_PASSWORD)
        page.get_by_label("請確認新憑證密碼").fill(RENEWED_PASSWORD)
        shots.take(page, "renew-password")
        page.get_by_role("button", name="憑證下載").click()
        expect(page.locator("#done")).to_contain_text("您的憑證已展延一年")
        shots.take(page, "renew-done")

        # -- export the renewed certificate: the old backup is replaced only when asked ---------
        _menu(page, "憑證匯出").click()
        page.get_by_role("link", name="瀏覽").click()
        page.locator(".places").get_by_role("link", name="桌面").click()
        page.locator(".folder-list").get_by_role("link", name="backup").click()
        page.get_by_role("button", name="確定").click()
        page.get_by_label("請輸入憑證密碼").fill(RENEWED_PASSWORD)
        page.get_by_role("button", name="執行匯出").click()
        expect(page.locator(".error-summary")).to_contain_text("已有另一個同名的憑證檔案")
        old_backup = exported.read_bytes()
        assert old_backup != pfx.read_bytes()
        shots.take(page, "export-asks-to-overwrite")
        page.get_by_label("以這台電腦的憑證取代該資料夾中的檔案").check()
        page.get_by_label("請輸入憑證密碼").fill(RENEWED_PASSWORD)
        page.get_by_role("button", name="執行匯出").click()
        expect(page.locator("#done")).to_contain_text("憑證匯出成功")
        assert exported.read_bytes() == pfx.read_bytes()

        # -- function 5: upload to phone; the page turns to 憑證上傳成功 by itself ----------------
        _menu(page, "憑證上傳手機").click()
        page.get_by_label("請輸入憑證密碼").fill(RENEWED_PASSWORD)
        page.get_by_role("button", name="憑證上傳手機").click()
        qr = page.locator("#qr")
        expect(qr).to_be_visible()
        expect(page.locator("#seconds-left")).to_have_text(re.compile(r"^[12]:\d\d$"))
        shots.take(page, "pair-qr")
        payload = _decode_qr(qr.screenshot())
        assert "#k=" in payload and payload not in page.content()
        logged = walk.phone("login", CUSTOMER, answers=f"{walk.login_password}\n")
        assert logged.returncode == 0, logged.stderr
        paired = walk.phone("pair", "--payload", "-", answers=f"{payload}\n{RENEWED_PASSWORD}\n")
        assert paired.returncode == 0, paired.stderr
        expect(page.locator("#done")).to_contain_text("憑證上傳成功", timeout=15_000)
        expect(page.locator("#done")).to_contain_text("請至手機或行動裝置輸入憑證檔案密碼")
        shots.take(page, "pair-claimed")
        assert page.request.get(first.base_url + "/pair/qr.png").status == 404

        # -- function 7: import on a second computer --------------------------------------------
        other = walk.open(second)
        walk.login(other)
        _menu(other, "憑證匯入").click()
        other.get_by_label("請選擇欲匯入之憑證檔案").set_input_files(str(exported))
        other.get_by_label("請輸入憑證密碼").fill(RENEWED_PASSWORD)
        other.get_by_label("2. 登入後第一次下單詢問憑證密碼").check()
        shots.take(other, "import")
        other.get_by_role("button", name="執行匯入").click()
        expect(other.locator("#done")).to_contain_text("憑證匯入成功")
        expect(other.locator("#verdict")).to_contain_text("用戶端的憑證資訊與主機端的憑證資訊相符")
        shots.take(other, "import-done")

        # -- function 10: the environment check, 變更設定 on one row ------------------------------
        imported = second.store / f"{CUSTOMER}.pfx"
        os.chmod(imported, 0o644)
        _menu(other, "憑證作業環境檢查").click()
        expect(other.locator("#doctor-summary")).to_contain_text("需要調整的項目")
        expect(other.get_by_role("button", name="全部變更設定")).to_be_visible()
        shots.take(other, "doctor")
        other.set_viewport_size(LARGE)
        shots.take(other, "doctor-1920")
        other.set_viewport_size(SMALL)
        other.locator("#row-file_modes").get_by_role("button", name="變更設定").click()
        expect(other.locator("#row-file_modes")).to_contain_text("已變更")
        assert imported.stat().st_mode & 0o777 == 0o600
        shots.take(other, "doctor-fixed")

        # -- 關閉視窗 stops each service --------------------------------------------------------
        for tab, ui in ((other, second), (page, first)):
            tab.get_by_role("button", name="關閉視窗").click()
            expect(tab.locator("#closed")).to_be_visible()
            assert ui.wait_stopped() == 0
        shots.take(page, "closed")
    except BaseException:
        for name, tab in (
            ("failure-pc1", locals().get("page")),
            ("failure-2", locals().get("other")),
        ):
            if tab is not None:
                with contextlib.suppress(Exception):  # the failure matters, not its picture
                    walk.shots.take(tab, name, timeout=3000)
        for ui in (first, second):
            ui.kill()
            print(f"pc-client ui ({ui.store}) printed:\n{''.join(ui.output)}")
        raise
    finally:
        first.kill()
        second.kill()

    # Nothing secret in what the programs printed or logged.
    printed = "".join(first.output + second.output)
    server_log = walk.server.log()
    for secret in (PFX_PASSWORD, CHANGED_PASSWORD, RENEWED_PASSWORD, walk.login_password):
        assert secret not in printed and secret not in server_log
    assert payload.split("#k=")[1] not in server_log


def _decode_qr(png: bytes) -> str:
    """The QR code in a screenshot, read by zxing-cpp (not by the encoder that drew it)."""
    import io

    import zxingcpp
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code in the screenshot"
    return str(results[0].text)

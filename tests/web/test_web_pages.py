"""The page's functions in process (the real server and the real page, no browser).

Fast checks of each screen's behaviour: the form calls the operation and shows its answer;
refusals show the catalogue's sentence beside the field and change nothing; the menu greys
out what the rules forbid. The walk through every screen in a real browser is
``test_browser_e2e.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from web_support import CUSTOMER, PFX_PASSWORD, Page, Server, make_page

from sync_client.pfx import load_pfx


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _menu_disabled(html: str) -> list[str]:
    return re.findall(r'<span class="disabled"[^>]*>([^<]+)<', html)


@pytest.fixture
def customer(page: Page, server: Server) -> Page:
    server.add_customer()
    assert page.launch().status_code == 200
    assert page.login().status_code == 200
    return page


@pytest.fixture
def enrolled(customer: Page, server: Server) -> Page:
    done = customer.apply(server.slip())
    assert done.status_code == 200, done.text
    assert "憑證下載成功" in done.text
    return customer


def test_the_menu_greys_out_what_the_rules_forbid(customer: Page) -> None:
    disabled = _menu_disabled(customer.get("/").text)
    assert disabled == [
        "憑證更新、展期", "憑證上傳手機", "憑證匯出", "憑證檔(PFX)密碼變更", "憑證密碼安全設定",
    ]  # fmt: skip
    assert "憑證重新下載" not in customer.get("/").text  # appears only when it can be used
    refused = customer.get("/export")
    assert refused.status_code == 409
    assert "無法執行「憑證匯出」：您的電腦中沒有與主機相同之憑證" in refused.text


def test_apply_in_three_steps_then_status_shows_code_0_and_the_match(
    customer: Page, server: Server
) -> None:
    step1 = customer.get("/apply")
    assert "憑證密碼單" in step1.text and "送出" in step1.text
    step2 = customer.post("/apply", {"enrollment_code": server.slip()})
    assert "我同意上述約定條款" in step2.text and "繼續" in step2.text
    not_ticked = customer.post("/apply/terms", {})
    assert not_ticked.status_code == 422
    assert "請勾選「我同意上述約定條款」" in not_ticked.text
    step3 = customer.post("/apply/terms", {"agree": "yes"})
    assert "密碼長度最少 4 位數以上" in step3.text and "憑證下載" in step3.text
    assert 'value="2" checked' in step3.text  # the default security setting
    too_short = customer.post(
        "/apply/password",
        {"new_password": "abc", "new_password_again": "abc", "security_setting": "2"},
    )
    assert too_short.status_code == 422
    assert 'id="new_password-error"' in too_short.text
    assert not (customer.home / f"{CUSTOMER}.pfx").exists()
    done = customer.post(
        "/apply/password",
        {"new_password": PFX_PASSWORD, "new_password_again": PFX_PASSWORD, "security_setting": "1"},
    )
    assert "憑證下載成功" in done.text and "請至左方「憑證匯出」功能備份您的新憑證檔案" in done.text
    assert PFX_PASSWORD not in done.text
    load_pfx((customer.home / f"{CUSTOMER}.pfx").read_bytes(), PFX_PASSWORD)

    status = customer.get("/").text
    assert "代碼 0 (有效憑證)" in status
    assert "用戶端的憑證資訊與主機端的憑證資訊相符" in status
    assert "1 (每次下單均詢問憑證密碼)" in status
    assert "憑證匯出" not in _menu_disabled(status)
    assert "用戶線上憑證申請" in _menu_disabled(status)


def test_a_wrong_slip_code_is_said_beside_the_field_and_changes_nothing(
    customer: Page, server: Server
) -> None:
    server.slip()
    refused = customer.post("/apply", {"enrollment_code": "WRONG-CODE"})
    assert refused.status_code == 422
    assert "憑證密碼單上的密碼不正確（密碼有大小寫之分）" in refused.text
    assert 'id="enrollment_code-error"' in refused.text
    assert "WRONG-CODE" not in refused.text
    assert sorted(p.name for p in customer.home.iterdir()) == [
        "ca_pins.json",  # written by the login (the CA pinned on first use), not by the refusal
        "session.json",
        "settings.json",
    ]
    # Without a checked code the later steps send the customer back to step 1.
    assert "憑證密碼單" in customer.get("/apply/password").text


def test_apply_while_a_valid_certificate_exists_is_refused(enrolled: Page) -> None:
    before = _digest(enrolled.home / f"{CUSTOMER}.pfx")
    refused = enrolled.get("/apply")
    assert refused.status_code == 409
    assert "您已有有效憑證，無須重新申請" in refused.text
    posted = enrolled.post("/apply", {"enrollment_code": "anything"})
    assert posted.status_code == 409
    assert _digest(enrolled.home / f"{CUSTOMER}.pfx") == before


def test_export_to_a_chosen_folder_never_overwrites_without_asking(
    enrolled: Page, tmp_path: Path
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    browser = enrolled.get("/export/folders", params={"path": str(tmp_path)})
    assert "usb" in browser.text and "確定" in browser.text
    form = enrolled.get("/export", params={"folder": str(usb)})
    assert str(usb) in form.text
    wrong = enrolled.post("/export", {"folder": str(usb), "password": "not-it"})
    assert wrong.status_code == 422 and 'id="password-error"' in wrong.text
    assert not any(usb.iterdir())
    done = enrolled.post("/export", {"folder": str(usb), "password": PFX_PASSWORD})
    assert "憑證匯出成功" in done.text
    target = usb / f"{CUSTOMER}.pfx"
    assert target.read_bytes() == (enrolled.home / f"{CUSTOMER}.pfx").read_bytes()

    target.write_bytes(b"another file")
    asked = enrolled.post("/export", {"folder": str(usb), "password": PFX_PASSWORD})
    assert asked.status_code == 422
    assert "該資料夾中已有另一個同名的憑證檔案" in asked.text and 'name="overwrite"' in asked.text
    assert target.read_bytes() == b"another file"
    replaced = enrolled.post(
        "/export", {"folder": str(usb), "password": PFX_PASSWORD, "overwrite": "yes"}
    )
    assert "憑證匯出成功" in replaced.text
    assert target.read_bytes() == (enrolled.home / f"{CUSTOMER}.pfx").read_bytes()


def test_passwd_and_security_setting(enrolled: Page) -> None:
    wrong = enrolled.post(
        "/passwd",
        {"current_password": "nope", "new_password": "newpass22", "new_password_again": "x"},
    )
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.text
    done = enrolled.post(
        "/passwd",
        {
            "current_password": PFX_PASSWORD,
            "new_password": "newpass22",
            "new_password_again": "newpass22",
        },
    )
    assert "密碼變更成功" in done.text
    load_pfx((enrolled.home / f"{CUSTOMER}.pfx").read_bytes(), "newpass22")

    three = enrolled.post("/security-setting", {"security_setting": "3", "password": "newpass22"})
    assert three.status_code == 422
    assert "安全設定值 3 需要作業系統的密碼保管庫" in three.text
    assert 'value="3" checked' in three.text  # the choice is kept, the password is not
    one = enrolled.post("/security-setting", {"security_setting": "1", "password": "newpass22"})
    assert "執行成功" in one.text
    settings = json.loads((enrolled.home / "settings.json").read_text())
    assert settings["security_setting"] == 1


def test_import_by_upload_on_a_second_computer(
    enrolled: Page, server: Server, tmp_path: Path
) -> None:
    pfx = (enrolled.home / f"{CUSTOMER}.pfx").read_bytes()
    second = make_page(tmp_path / "pc2" / "BTS", server)
    with second.client:
        second.launch()
        second.login()
        upload = {"pfx_file": (f"{CUSTOMER}.pfx", pfx, "application/x-pkcs12")}
        wrong = second.client.post(
            "/import", data={"password": "nope", "security_setting": "2"}, files=upload,
            headers={"Origin": "http://127.0.0.1:48123"},
        )  # fmt: skip
        assert wrong.status_code == 422 and 'id="password-error"' in wrong.text
        assert not (second.home / f"{CUSTOMER}.pfx").exists()
        done = second.client.post(
            "/import", data={"password": PFX_PASSWORD, "security_setting": "2"}, files=upload,
            headers={"Origin": "http://127.0.0.1:48123"},
        )  # fmt: skip
        assert "憑證匯入成功" in done.text
        assert "用戶端的憑證資訊與主機端的憑證資訊相符" in done.text


def test_doctor_fixes_one_row(enrolled: Page) -> None:
    pfx = enrolled.home / f"{CUSTOMER}.pfx"
    os.chmod(pfx, 0o644)
    table = enrolled.get("/doctor")
    assert "變更設定" in table.text and "全部變更設定" in table.text
    assert 'id="fix-file_modes"' in table.text
    fixed = enrolled.post("/doctor/fix", {"item": "file_modes"})
    assert "已變更" in fixed.text
    assert pfx.stat().st_mode & 0o777 == 0o600


def test_the_language_switch_is_remembered(customer: Page) -> None:
    english = customer.post("/language", {"language": "en", "next": "/"})
    assert "Certificate query and check" in english.text
    assert "Certificate status" in english.text and '<html lang="en">' in english.text
    assert json.loads((customer.home / "settings.json").read_text())["language"] == "en"
    # A next path that leaves this service is not followed.
    back = customer.post("/language", {"language": "zh-TW", "next": "//evil.example/"})
    assert back.url.path == "/" and "憑證註冊系統" in back.text


def test_close_stops_the_service_and_cancels_nothing_else(customer: Page) -> None:
    closed = customer.post("/close")
    assert "憑證註冊系統已關閉" in closed.text
    assert customer.closed == [True]
    assert (customer.home / "session.json").exists()  # the login stays, as for the CLI


@pytest.mark.parametrize("server_overrides", [{"certificate_validity": timedelta(days=20)}])
def test_renewal_inside_the_window(enrolled: Page) -> None:
    status = enrolled.get("/").text
    assert "代碼 31 (即將到期)" in status and "憑證更新、展期" not in _menu_disabled(status)
    before = _digest(enrolled.home / f"{CUSTOMER}.pfx")
    assert "約定條款" in enrolled.get("/renew").text
    # The password step is not reached before the terms are agreed to.
    assert "約定條款" in enrolled.get("/renew/password").text
    assert "請輸入原憑證密碼" in enrolled.post("/renew", {"agree": "yes"}).text
    wrong = enrolled.post(
        "/renew/password",
        {
            "current_password": "nope",
            "new_password": "newpass22",
            "new_password_again": "newpass22",
        },
    )
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.text
    assert _digest(enrolled.home / f"{CUSTOMER}.pfx") == before
    done = enrolled.post(
        "/renew/password",
        {
            "current_password": PFX_PASSWORD,
            "new_password": "newpass22",
            "new_password_again": "newpass22",
        },
    )
    assert "您的憑證已展延一年" in done.text
    load_pfx((enrolled.home / f"{CUSTOMER}.pfx").read_bytes(), "newpass22")


def test_pairing_shows_the_qr_code_and_cancel_ends_it(enrolled: Page) -> None:
    wrong = enrolled.post("/pair", {"password": "nope"})
    assert wrong.status_code == 422 and 'id="password-error"' in wrong.text
    assert enrolled.get("/pair/qr.png").status_code == 404  # no slot was opened
    waiting = enrolled.post("/pair", {"password": PFX_PASSWORD})
    assert waiting.url.path == "/pair/wait" and 'src="/pair/qr.png"' in waiting.text
    image = enrolled.get("/pair/qr.png")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "no-store"
    assert image.content.startswith(b"\x89PNG")
    state = enrolled.get("/pair/state").json()
    assert state["state"] == "open" and not state["ended"] and 0 < state["seconds_left"] <= 120
    assert "#k=" not in enrolled.get("/pair/state").text  # the key is in the image only
    cancelled = enrolled.post("/pair/cancel")
    assert "已取消，此 QR code 已失效" in cancelled.text
    assert enrolled.get("/pair/qr.png").status_code == 404
    after = enrolled.get("/pair/state").json()
    assert after["state"] == "cancelled" and after["ended"]


def test_redownload_appears_only_when_there_is_something_to_finish(enrolled: Page) -> None:
    assert 'href="/redownload"' not in enrolled.get("/").text
    refused = enrolled.get("/redownload")
    assert refused.status_code == 409
    assert "這台電腦沒有尚未完成的憑證申請或展期" in refused.text

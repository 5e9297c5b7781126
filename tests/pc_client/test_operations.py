"""The operations called directly, as the page calls them: answers in, facts out, no prompts.

Every test runs the real server in process (``pc_harness``) with a ``Context`` on the PC's
store. Standard input is a stream that fails when read, and the tests check that nothing was
printed: an operation that asks or prints fails here.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

import httpx2
import pytest
from keyring_backend import FileKeyring
from pc_harness import (
    CUSTOMER,
    LOGIN_PASSWORD,
    NEW_PFX_PASSWORD,
    PFX_PASSWORD,
    Pc,
    Server,
    dropping_client,
)

from pc_client.app import Context, Options
from pc_client.errors import PasswordRejected, PcRefusal
from pc_client.operations import doctor, enroll, order, password, session, transfer
from pc_client.operations.info import fetch_brokerage_info
from pc_client.operations.renew import check_renew, renew_certificate
from pc_client.operations.status import AdviceKind, advise, gather_status
from sync_client.errors import (
    CredentialStoreUnavailable,
    InvalidInput,
    ServerRefused,
    ServerUnreachable,
    WrongPfxPassword,
)
from sync_client.pfx import load_pfx
from sync_client.security import SecuritySetting
from sync_client.verdict import Verdict


class RenewPasswords(TypedDict):
    """The three passwords renewal asks for, as keyword arguments."""

    current_password: str
    new_password: str
    new_password_again: str


class NoStdin(io.TextIOBase):
    """Standard input that must never be read by an operation."""

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("an operation read standard input")

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise AssertionError("an operation read standard input")


@pytest.fixture(autouse=True)
def silent(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """No operation reads standard input or prints anything (the CLI runs in ``Pc`` may)."""
    monkeypatch.setattr(sys, "stdin", NoStdin())
    yield
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", ""), "an operation printed"


def make_context(pc: Pc, http: httpx2.Client | None = None) -> Context:
    """What the page builds: a ``Context`` on the PC's store folder, without a prompter."""
    options = Options.build(
        home=str(pc.home), server_url=None, as_json=False, debug=False, environ=pc.environ
    )
    return Context(options, http=pc.server.http if http is None else http)


@pytest.fixture
def ctx(pc: Pc, customer: str) -> Context:
    context = make_context(pc)
    session.log_in(context, CUSTOMER.lower(), LOGIN_PASSWORD)
    return context


def _apply(ctx: Context, server: Server, **changes: object) -> enroll.Applied:
    answers: dict[str, object] = {
        "terms_accepted": True,
        "password": PFX_PASSWORD,
        "password_again": PFX_PASSWORD,
        "security_setting": 2,
        "key_kind": "ec",
    }
    answers.update(changes)
    if "enrollment_code" not in answers:
        answers["enrollment_code"] = server.slip()
    return enroll.apply_for_certificate(ctx, **answers)  # type: ignore[arg-type]


@pytest.fixture
def applied(ctx: Context, server: Server) -> Context:
    _apply(ctx, server)
    return ctx


# -- login, status, apply ----------------------------------------------------------------------


def test_login_then_status_facts_before_applying(pc: Pc, customer: str, server: Server) -> None:
    ctx = make_context(pc)
    done = session.log_in(ctx, CUSTOMER.lower(), LOGIN_PASSWORD)
    assert done.customer_id == CUSTOMER  # normalized
    assert done.security_setting is SecuritySetting.FIRST_ORDER
    assert done.renewal_reminder is None and isinstance(done.expires_at, datetime)

    view = gather_status(ctx)
    assert view.check.verdict is Verdict.NO_LOCAL_MATCH and view.host.code == 40
    assert [a.kind for a in advise(view)] == [AdviceKind.APPLY]  # nothing to import yet
    assert advise(view)[0].status_code == 40


def test_apply_without_a_check_first_as_a_form_post(ctx: Context, server: Server) -> None:
    done = _apply(ctx, server, security_setting="1")

    assert done.security_setting is SecuritySetting.EVERY_ORDER
    cert = done.certificate
    assert cert.customer_id == CUSTOMER and cert.path == ctx.store.pfx_path(CUSTOMER)
    assert load_pfx(cert.path.read_bytes(), PFX_PASSWORD).serial == cert.serial
    assert str(cert.serial) == server.certificates()[0].serial
    view = gather_status(ctx)
    assert view.check.usable and advise(view) == ()
    assert ctx.store.load_settings().security_setting == 1


def test_apply_check_gives_the_servers_minimum_length(
    make_server: Callable[..., Server], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(pfx_password_min_length=8)
    server.add_customer()
    ctx = make_context(Pc(tmp_path / "BTS", server, capsys))
    session.log_in(ctx, CUSTOMER, LOGIN_PASSWORD)

    checked = enroll.check_apply(ctx)
    assert checked.password_min_length == password.password_min_length(ctx) == 8
    with pytest.raises(PasswordRejected) as caught:
        _apply(ctx, server, password="abc1234", password_again="abc1234", checked=checked)
    assert caught.value.code == "password_too_short"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"terms_accepted": False}, "terms_not_accepted"),
        ({"password_again": "different1"}, "passwords_differ"),
        ({"security_setting": 7}, "invalid_input"),
        ({"security_setting": 3}, "credential_store_unavailable"),
        ({"enrollment_code": "WRONGCODE1"}, "enrollment_code_invalid"),
        ({"terms_version": "1900-01"}, "terms_version_outdated"),
    ],
)
def test_apply_refusals_change_nothing(
    ctx: Context, server: Server, pc: Pc, changes: dict[str, object], code: str
) -> None:
    before = pc.snapshot()
    with pytest.raises((PcRefusal, InvalidInput, CredentialStoreUnavailable, ServerRefused)) as e:
        _apply(ctx, server, **changes)
    assert e.value.code == code
    assert pc.snapshot() == before
    assert server.certificates() == []


def test_apply_with_the_terms_version_the_server_shows(ctx: Context, server: Server) -> None:
    info = fetch_brokerage_info(ctx)
    assert info.terms_version and info.service_phone
    _apply(ctx, server, terms_version=info.terms_version)
    assert gather_status(ctx).check.usable


def test_the_enrollment_code_can_be_checked_before_the_rest(ctx: Context, server: Server) -> None:
    slip = server.slip()
    checked = enroll.check_enrollment_slip(ctx, f" {slip} ")
    assert isinstance(checked.slip_expires_at, datetime)
    with pytest.raises(ServerRefused) as caught:
        enroll.check_enrollment_slip(ctx, "WRONGCODE1")
    assert caught.value.code == "enrollment_code_invalid"
    # The check did not use the slip; its answer is the apply's check.
    _apply(ctx, server, enrollment_code=slip, checked=checked.checked)


def test_an_interrupted_apply_is_finished_by_redownload(
    pc: Pc, customer: str, server: Server
) -> None:
    ctx = make_context(pc, dropping_client(server, "/api/v1/certificate/apply"))
    session.log_in(ctx, CUSTOMER, LOGIN_PASSWORD)
    with pytest.raises(ServerUnreachable) as lost:
        _apply(ctx, server)
    assert "redownload" in lost.value.message

    checked = enroll.check_redownload(ctx)
    assert CUSTOMER in repr(checked) and "sealed" not in repr(checked)
    server.open_redownload()
    with pytest.raises(WrongPfxPassword):
        enroll.redownload_certificate(ctx, password="wrongpass1", checked=checked)
    cert = enroll.redownload_certificate(ctx, password=PFX_PASSWORD)
    assert str(cert.serial) == server.certificates()[0].serial
    assert gather_status(ctx).check.usable


# -- renew ---------------------------------------------------------------------------------------


def test_renew_inside_the_window(
    make_server: Callable[..., Server], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(certificate_validity=timedelta(days=20))
    server.add_customer()
    ctx = make_context(Pc(tmp_path / "BTS", server, capsys))
    session.log_in(ctx, CUSTOMER, LOGIN_PASSWORD)
    old = _apply(ctx, server).certificate
    answers = RenewPasswords(
        current_password=PFX_PASSWORD,
        new_password=NEW_PFX_PASSWORD,
        new_password_again=NEW_PFX_PASSWORD,
    )
    with pytest.raises(PcRefusal) as refused:
        renew_certificate(ctx, terms_accepted=False, **answers)
    assert refused.value.code == "terms_not_accepted"

    checked = check_renew(ctx)
    assert checked.retry is None and checked.challenge is not None
    assert checked.challenge.nonce not in repr(checked)
    new = renew_certificate(ctx, terms_accepted=True, checked=checked, **answers)
    assert new.serial != old.serial and new.not_after > old.not_after
    assert load_pfx(new.path.read_bytes(), NEW_PFX_PASSWORD).serial == new.serial


def test_renew_outside_the_window_is_refused_by_the_check(applied: Context) -> None:
    with pytest.raises(ServerRefused) as caught:
        check_renew(applied)
    assert caught.value.code == "renewal_not_open"


# -- export, import ------------------------------------------------------------------------------


def test_export_with_and_without_overwrite(applied: Context, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    with pytest.raises(InvalidInput) as no_folder:
        transfer.check_export(applied, tmp_path / "nowhere")
    assert no_folder.value.code == "no_folder"
    with pytest.raises(WrongPfxPassword):
        transfer.export_certificate(applied, directory=usb, password="wrongpass1")
    assert list(usb.iterdir()) == []

    first = transfer.export_certificate(applied, directory=usb, password=PFX_PASSWORD)
    assert first.path == usb / f"{CUSTOMER}.pfx" and first.unchanged is False
    again = transfer.export_certificate(applied, directory=usb, password=PFX_PASSWORD)
    assert again.unchanged is True

    first.path.write_bytes(b"an older backup")
    with pytest.raises(PcRefusal) as exists:
        transfer.export_certificate(applied, directory=usb, password=PFX_PASSWORD)
    assert exists.value.code == "file_exists"
    assert first.path.read_bytes() == b"an older backup"
    transfer.export_certificate(applied, directory=usb, password=PFX_PASSWORD, overwrite=True)
    assert first.path.read_bytes() == applied.store.pfx_path(CUSTOMER).read_bytes()


def test_import_from_uploaded_bytes_and_from_a_folder(
    applied: Context, tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    pfx_bytes = applied.store.pfx_path(CUSTOMER).read_bytes()
    second = make_context(Pc(tmp_path / "second" / "BTS", server, capsys))
    session.log_in(second, CUSTOMER, LOGIN_PASSWORD)

    with pytest.raises(WrongPfxPassword):
        transfer.import_certificate(second, pfx_bytes, password="wrongpass1", security_setting=2)
    done = transfer.import_certificate(second, pfx_bytes, password=PFX_PASSWORD, security_setting=1)
    assert done.source is None and done.security_setting is SecuritySetting.EVERY_ORDER
    assert done.status.check.usable and done.path == second.store.pfx_path(CUSTOMER)

    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / f"{CUSTOMER}.pfx").write_bytes(pfx_bytes)
    from_folder = transfer.import_certificate(
        second, folder, password=PFX_PASSWORD, security_setting="2"
    )
    assert from_folder.source == folder / f"{CUSTOMER}.pfx"
    assert from_folder.status.check.verdict is Verdict.MATCH


# -- passwd, security setting --------------------------------------------------------------------


def test_change_the_pfx_password(applied: Context) -> None:
    checked = password.check_change_password(applied)
    with pytest.raises(WrongPfxPassword):
        password.change_pfx_password(
            applied, current_password="wrongpass1", new_password=NEW_PFX_PASSWORD,
            new_password_again=NEW_PFX_PASSWORD, checked=checked,
        )  # fmt: skip
    done = password.change_pfx_password(
        applied, current_password=PFX_PASSWORD, new_password=NEW_PFX_PASSWORD,
        new_password_again=NEW_PFX_PASSWORD,
    )  # fmt: skip
    assert done.path.name == f"{CUSTOMER}.pfx"
    assert load_pfx(done.path.read_bytes(), NEW_PFX_PASSWORD).customer_id == CUSTOMER


def test_the_security_setting(applied: Context, credential_store: FileKeyring) -> None:
    shown = password.read_security_setting(applied)
    assert shown.security_setting is SecuritySetting.FIRST_ORDER
    assert shown.session_security_setting == 2 and shown.credential_store_available is True
    with pytest.raises(WrongPfxPassword):
        password.set_security_setting(applied, setting=3, password="wrongpass1")

    after = password.set_security_setting(applied, setting=3, password=PFX_PASSWORD)
    assert after.security_setting is SecuritySetting.NEVER
    assert after.session_security_setting == 2  # from the next login on
    assert credential_store.entries()["certsync"][CUSTOMER] == PFX_PASSWORD


def test_setting_3_needs_a_credential_store(applied: Context) -> None:
    with pytest.raises(CredentialStoreUnavailable):
        password.choose_security_setting(3)
    assert password.choose_security_setting(" 1 ") is SecuritySetting.EVERY_ORDER


# -- doctor ----------------------------------------------------------------------------------------


def test_doctor_rows_and_fixing_one_item(pc: Pc, credential_store: FileKeyring) -> None:
    ctx = make_context(pc)
    rows = {f.item: f for f in doctor.run_checks(ctx)}
    assert list(rows) == list(doctor.CHECKS)
    missing = rows["folder_exists"]
    assert not missing.ok and missing.fixable and not pc.home.exists()
    assert not rows["folder_not_hidden"].fixable

    fixed = doctor.fix_item(ctx, "folder_exists")
    assert fixed.ok and fixed.fixed and pc.home.is_dir()
    assert all(f.ok for f in doctor.fix_items(ctx))
    with pytest.raises(ValueError):
        doctor.fix_item(ctx, "no_such_item")


# -- orders, logout ------------------------------------------------------------------------------


def test_an_order_asks_for_the_password_once_under_setting_2(applied: Context) -> None:
    first = order.plan_order(applied, symbol="2330", side="buy", quantity=1, price="600")
    assert first.password_needed is True
    with pytest.raises(ValueError):
        order.place_order(applied, first)
    placed = order.place_order(applied, first, password=PFX_PASSWORD)
    assert placed.password_asked is True and placed.order_id

    second = order.plan_order(applied, symbol="2330", side="sell", quantity=1, price="601")
    assert second.password_needed is False and "unsealed" not in repr(second)
    assert order.place_order(applied, second).password_asked is False


def test_logout(ctx: Context) -> None:
    out = session.log_out(ctx)
    assert out.logged_out and out.server_told and out.customer_id == CUSTOMER
    assert session.log_out(ctx).logged_out is False

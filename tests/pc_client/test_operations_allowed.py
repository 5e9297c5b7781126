"""``operations.allowed``: which functions the rules allow now, and why not.

Pure rules first, over status views built by hand (every state the host and the store can be
in); then against the real server, that the page's answer is the refusal the operation raises.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pc_harness import CUSTOMER, PFX_PASSWORD, Pc, dropping_client

from pc_client.app import Context, Options
from pc_client.errors import CertificateMismatch, NoLocalCertificate, PcRefusal
from pc_client.operations.allowed import Function, allowed_now
from pc_client.operations.enroll import check_apply, check_redownload
from pc_client.operations.pair import check_pairing
from pc_client.operations.password import check_change_password
from pc_client.operations.renew import check_renew
from pc_client.operations.status import StatusView, gather_status
from pc_client.operations.transfer import check_export
from pc_client.records import Pending, StoreSettings
from pc_client.store import LocalCertificate
from sync_client.api import HostCertificate, HostStatus
from sync_client.errors import ServerRefused
from sync_client.i18n import use_language
from sync_client.protocol import StatusCode
from sync_client.verdict import Verdict, check_match

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
HOST_PRINT = "aa" * 32
OTHER_PRINT = "bb" * 32


def _host_certificate() -> HostCertificate:
    return HostCertificate(
        customer_id=CUSTOMER, serial=101919, serial_display="101919 (0x018E1F)",
        subject_cn=CUSTOMER, not_before=NOW - timedelta(days=340),
        not_after=NOW + timedelta(days=25), fingerprint_sha256=HOST_PRINT, status="valid",
        cert_pem="",
    )  # fmt: skip


def view(
    code: StatusCode,
    *,
    local: str | None = HOST_PRINT,
    present: bool = True,
    pending: str | None = None,
    challenge: bool = False,
    opens_at: datetime | None = None,
    issued: bool = True,
) -> StatusView:
    """A status view: host status ``code``; ``local`` the fingerprint here (None: none)."""
    host = HostStatus(
        customer_id=CUSTOMER,
        code=int(code),
        label=code.label,
        certificate=_host_certificate() if issued else None,
        renewal_opens_at=opens_at,
        chain_pem="",
    )
    check = check_match(
        host_code=int(code),
        host_fingerprint=HOST_PRINT if issued else None,
        local_fingerprint=local,
    )
    waiting = None
    if pending is not None:
        waiting = Pending(
            operation=pending, customer_id=CUSTOMER, created_at="2026-12-01T08:00:00Z",
            sealed_key=b"sealed", csr_pem="csr", challenge_id="c1" if challenge else None,
        )  # fmt: skip
    return StatusView(
        customer_id=CUSTOMER,
        host=host,
        local=LocalCertificate(Path("/bts") / f"{CUSTOMER}.pfx", present=present, cert=None),
        check=check,
        pending=waiting,
        settings=StoreSettings(),
        session_setting=2,
    )


def refusals(v: StatusView) -> dict[str, str | None]:
    """Function → the refusal's code (None: allowed)."""
    return {
        str(f): (a.refusal.code if a.refusal is not None else None)
        for f, a in allowed_now(v).items()
    }


# -- the rules, state by state -------------------------------------------------------------------


def test_every_function_is_answered_and_import_always_runs() -> None:
    answers = allowed_now(view(StatusCode.VALID))
    assert set(answers) == set(Function)
    assert all(a.function is f for f, a in answers.items())
    assert answers[Function.IMPORT].allowed
    # Function is a StrEnum: the table is also read by command name.
    assert answers["security-setting"] is answers[Function.SECURITY_SETTING]  # type: ignore[index]


def test_never_applied_only_apply_and_import() -> None:
    assert refusals(view(StatusCode.NONE, local=None, present=False, issued=False)) == {
        "apply": None,
        "redownload": "no_pending_key",
        "renew": "no_certificate",
        "pair": "certificate_mismatch",
        "export": "certificate_mismatch",
        "import": None,
        "passwd": "no_local_certificate",
        "security-setting": "no_local_certificate",
    }


def test_a_valid_matching_certificate_outside_the_window() -> None:
    opens = NOW + timedelta(days=5)
    v = view(StatusCode.VALID, opens_at=opens)
    assert refusals(v) == {
        "apply": "certificate_already_valid",
        "redownload": "no_pending_key",
        "renew": "renewal_not_open",
        "pair": None,
        "export": None,
        "import": None,
        "passwd": None,
        "security-setting": None,
    }
    renew = allowed_now(v)[Function.RENEW].refusal
    assert renew is not None and "2026-12-07" in renew.message  # the day the window opens


def test_renewal_needs_the_window_the_file_and_the_match() -> None:
    assert allowed_now(view(StatusCode.EXPIRING))[Function.RENEW].allowed
    mismatch = allowed_now(view(StatusCode.EXPIRING, local=OTHER_PRINT))[Function.RENEW]
    assert mismatch.refusal is not None and mismatch.refusal.code == "certificate_mismatch"
    gone = allowed_now(view(StatusCode.EXPIRING, local=None, present=False))[Function.RENEW]
    assert gone.refusal is not None and gone.refusal.code == "no_local_certificate"
    for code in (StatusCode.EXPIRED, StatusCode.REVOKED):
        refusal = allowed_now(view(code))[Function.RENEW].refusal
        assert refusal is not None and refusal.code == "renewal_not_open"


def test_revoked_or_expired_allows_apply_and_refuses_export_and_pair() -> None:
    for code in (StatusCode.EXPIRED, StatusCode.REVOKED):
        answers = allowed_now(view(code))
        assert answers[Function.APPLY].allowed
        for function in (Function.EXPORT, Function.PAIR):
            refusal = answers[function].refusal
            assert refusal is not None and refusal.code == "certificate_mismatch"
            assert code.label in refusal.message  # "the host's status is 42 revoked"


def test_a_mismatch_refuses_export_and_pair_with_the_verdict() -> None:
    with use_language("en"):
        answers = allowed_now(view(StatusCode.VALID, local=OTHER_PRINT))
        export, pair = answers[Function.EXPORT].refusal, answers[Function.PAIR].refusal
    assert export is not None and export.message.startswith("Export refused: Certificate mismatch")
    assert pair is not None and pair.message.startswith("Upload to the phone refused:")


def test_an_interrupted_apply_points_at_the_redownload() -> None:
    answers = allowed_now(view(StatusCode.VALID, local=None, present=False, pending="apply"))
    assert answers[Function.REDOWNLOAD].allowed
    apply = answers[Function.APPLY].refusal
    assert apply is not None and apply.code == "certificate_already_valid"
    assert "redownload" in apply.message
    renew = answers[Function.RENEW].refusal
    assert renew is not None and renew.code == "pending_operation"


def test_an_interrupted_renewal_may_be_finished_whatever_the_host_shows() -> None:
    # The host already shows the new certificate: this PC's old one no longer matches.
    v = view(StatusCode.VALID, local=OTHER_PRINT, pending="renew", challenge=True)
    answers = allowed_now(v)
    assert answers[Function.RENEW].allowed and answers[Function.REDOWNLOAD].allowed
    revoked = allowed_now(view(StatusCode.REVOKED, pending="renew", challenge=True))
    apply = revoked[Function.APPLY].refusal
    assert apply is not None and apply.code == "pending_operation"


def test_a_refusal_builds_the_error_the_operation_raises() -> None:
    answers = allowed_now(view(StatusCode.NONE, local=None, present=False, issued=False))
    cases = {
        Function.EXPORT: CertificateMismatch,
        Function.PASSWD: NoLocalCertificate,
        Function.REDOWNLOAD: PcRefusal,
    }
    for function, kind in cases.items():
        refusal = answers[function].refusal
        assert refusal is not None
        error = refusal.error()
        assert type(error) is kind
        assert (error.code, error.message) == (refusal.code, refusal.message)
        assert refusal.error() is not error  # a fresh one each time it is raised


# -- the same answer as the operations, against the real server -----------------------------------


def _context(pc: Pc) -> Context:
    options = Options.build(
        home=str(pc.home), server_url=None, as_json=False, debug=False, environ=pc.environ
    )
    return Context(options, http=pc.server.http)


def test_what_the_page_is_told_is_what_the_operation_raises(pc: Pc, customer: str) -> None:
    pc.login()
    ctx = _context(pc)
    none = allowed_now(gather_status(ctx))
    for function, check in (
        (Function.EXPORT, lambda: check_export(ctx, pc.home)),
        (Function.PAIR, lambda: check_pairing(ctx)),
        (Function.PASSWD, lambda: check_change_password(ctx)),
        (Function.REDOWNLOAD, lambda: check_redownload(ctx)),
    ):
        refusal = none[function].refusal
        assert refusal is not None, function
        with pytest.raises(PcRefusal) as caught:
            check()
        assert (caught.value.code, caught.value.message) == (refusal.code, refusal.message)

    pc.apply()
    valid = allowed_now(gather_status(ctx))
    assert valid[Function.EXPORT].allowed and valid[Function.PAIR].allowed
    refusal = valid[Function.APPLY].refusal
    assert refusal is not None
    with pytest.raises(PcRefusal) as caught:
        check_apply(ctx)
    assert (caught.value.code, caught.value.message) == (refusal.code, refusal.message)
    # Renewal: the host is the authority, and it refuses with the code foretold.
    renew = valid[Function.RENEW].refusal
    assert renew is not None and renew.code == "renewal_not_open"
    with pytest.raises(ServerRefused) as refused:
        check_renew(ctx)
    assert (refused.value.code, refused.value.message) == (renew.code, renew.message)


def test_an_interrupted_apply_as_the_page_sees_it(pc: Pc, customer: str) -> None:
    pc.login()
    lossy = dropping_client(pc.server, "/api/v1/certificate/apply")
    slip = pc.server.slip()
    lost = pc.run("apply", "--agree", "--security-setting", "2", "--key-type", "ec",
                  input=f"{slip}\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n", http=lossy)  # fmt: skip
    assert lost.error == "server_unreachable"

    v = gather_status(_context(pc))
    answers = allowed_now(v)
    assert v.check.verdict is Verdict.NO_LOCAL_MATCH
    assert answers[Function.REDOWNLOAD].allowed
    assert not answers[Function.APPLY].allowed and not answers[Function.EXPORT].allowed

"""``renew`` (function 4): the window, the proof, and retries after a lost answer."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from pc_harness import CUSTOMER, NEW_PFX_PASSWORD, PFX_PASSWORD, Pc, dropping_client

from sync_client.errors import WrongPfxPassword

RENEW_ANSWERS = f"{PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n"


def test_renew_extends_by_a_year_with_the_new_password(renewal_pc: Pc) -> None:
    old = renewal_pc.open_pfx(PFX_PASSWORD)

    result = renewal_pc.run("renew", input=f"y\n{RENEW_ANSWERS}", json_output=False)

    assert result.code == 0, result.err
    assert "Your certificate was renewed." in result.out
    assert "Export a backup now" in result.out and "pair it again" in result.out
    new = renewal_pc.open_pfx(NEW_PFX_PASSWORD)
    assert new.serial != old.serial
    assert new.not_after == old.not_after + timedelta(days=20)  # the server's validity
    assert new.key.public_key() != old.key.public_key()
    assert type(new.key) is type(old.key)  # same key type unless --key-type says otherwise
    with pytest.raises(WrongPfxPassword):
        renewal_pc.open_pfx(PFX_PASSWORD)
    assert stat.S_IMODE(renewal_pc.pfx_path().stat().st_mode) == 0o600
    assert not (renewal_pc.home / f"{CUSTOMER}.pending.json").exists()
    assert not list(renewal_pc.home.glob(".*"))  # no staging leftovers
    data = renewal_pc.ok("status")
    assert data["verdict"] == "match" and data["client"]["serial"] == str(new.serial)


def test_renew_with_another_key_type(renewal_pc: Pc) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    renewal_pc.ok("renew", "--agree", "--key-type", "rsa", input=RENEW_ANSWERS)
    assert isinstance(renewal_pc.open_pfx(NEW_PFX_PASSWORD).key, rsa.RSAPrivateKey)


def test_outside_the_window_says_when_it_opens_and_asks_nothing(enrolled: Pc) -> None:
    before = enrolled.snapshot()

    result = enrolled.run("renew", "--agree", input="")

    assert result.error == "renewal_not_open"
    opens_at = result.data["details"]["opens_at"]
    assert opens_at[:10] in result.data["message"]
    assert result.data["message"].startswith("Renewal is not open yet: it opens on ")
    assert enrolled.snapshot() == before
    text = enrolled.run("renew", "--agree", input="", json_output=False)
    assert text.err.count("\n") == 1 and opens_at[:10] in text.err


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (f"n\n{RENEW_ANSWERS}", "terms_not_accepted"),
        (f"y\nwrongpass1\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n", "wrong_password"),
        (f"y\n{PFX_PASSWORD}\nnewpass1\nnewpass2\n", "passwords_differ"),
        (f"y\n{PFX_PASSWORD}\nab\nab\n", "password_too_short"),
        (f"y\n{PFX_PASSWORD}\nnew pass\nnew pass\n", "password_characters"),
        (f"y\n{PFX_PASSWORD}\n", "input_missing"),
    ],
)
def test_renew_refusals_change_nothing(renewal_pc: Pc, answers: str, code: str) -> None:
    before = renewal_pc.snapshot()

    result = renewal_pc.run("renew", input=answers)

    assert result.error == code
    assert renewal_pc.snapshot() == before
    assert len(renewal_pc.server.certificates()) == 1


def test_renew_refuses_when_this_pc_holds_another_certificate(renewal_pc: Pc) -> None:
    # This PC keeps a revoked certificate while the host's current one is newer.
    old = renewal_pc.open_pfx(PFX_PASSWORD)
    renewal_pc.server.revoke(old.serial)
    saved = renewal_pc.pfx_path().read_bytes()
    renewal_pc.apply()
    renewal_pc.pfx_path().write_bytes(saved)
    before = renewal_pc.snapshot()

    result = renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS)

    assert result.error == "certificate_mismatch"
    assert renewal_pc.snapshot() == before


def test_lost_answer_then_retry_gets_the_same_certificate(renewal_pc: Pc) -> None:
    lossy = dropping_client(renewal_pc.server, "/api/v1/certificate/renew")

    lost = renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS, http=lossy)

    assert lost.error == "server_unreachable"
    assert "renew` again" in lost.data["message"]
    # The host renewed, this PC did not store it yet: the old file still works.
    assert renewal_pc.open_pfx(PFX_PASSWORD)
    assert len(renewal_pc.server.certificates()) == 2
    pending = renewal_pc.ok("status")
    assert pending["pending"] == "renew" and pending["verdict"] == "mismatch"
    assert any("renew` again" in a for a in pending["advice"])

    data = renewal_pc.ok("renew", "--agree", input=RENEW_ANSWERS)

    issued = renewal_pc.server.certificates()
    assert len(issued) == 2  # the retry got the same certificate, not a third one
    assert data["serial"] == issued[-1].serial
    assert renewal_pc.open_pfx(NEW_PFX_PASSWORD).serial == int(issued[-1].serial)
    assert ("renew", "ok_retry") in renewal_pc.server.audit_actions()
    assert renewal_pc.ok("status")["verdict"] == "match"


def test_retry_needs_the_new_password_chosen_the_first_time(renewal_pc: Pc) -> None:
    lossy = dropping_client(renewal_pc.server, "/api/v1/certificate/renew")
    assert renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS, http=lossy).code == 1
    before = renewal_pc.snapshot()

    result = renewal_pc.run("renew", "--agree", input=f"{PFX_PASSWORD}\nother123\nother123\n")

    assert result.error == "wrong_password"
    assert "interrupted" in result.data["message"]
    assert renewal_pc.snapshot() == before


def test_request_that_never_arrived_starts_afresh_after_the_challenge_expired(
    renewal_pc: Pc,
) -> None:
    never = dropping_client(renewal_pc.server, "/api/v1/certificate/renew", deliver=False)
    assert renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS, http=never).code == 1
    assert len(renewal_pc.server.certificates()) == 1
    renewal_pc.server.clock.advance(timedelta(minutes=6))  # the challenge lives 5 minutes

    renewal_pc.ok("renew", "--agree", input=RENEW_ANSWERS)

    assert len(renewal_pc.server.certificates()) == 2
    assert renewal_pc.ok("status")["verdict"] == "match"


def test_interrupted_renewal_can_also_finish_by_redownload(renewal_pc: Pc) -> None:
    lossy = dropping_client(renewal_pc.server, "/api/v1/certificate/renew")
    assert renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS, http=lossy).code == 1
    renewal_pc.server.open_redownload()

    renewal_pc.ok("redownload", input=f"{NEW_PFX_PASSWORD}\n")

    assert renewal_pc.open_pfx(NEW_PFX_PASSWORD).serial == int(
        renewal_pc.server.certificates()[-1].serial
    )
    assert renewal_pc.ok("status")["verdict"] == "match"


def test_apply_is_refused_while_a_renewal_is_pending(renewal_pc: Pc) -> None:
    lossy = dropping_client(renewal_pc.server, "/api/v1/certificate/renew", deliver=False)
    assert renewal_pc.run("renew", "--agree", input=RENEW_ANSWERS, http=lossy).code == 1
    renewal_pc.server.revoke(renewal_pc.open_pfx(PFX_PASSWORD).serial)
    before = renewal_pc.snapshot()

    result = renewal_pc.run("apply", "--agree", input="")

    assert result.error == "pending_operation"
    assert renewal_pc.snapshot() == before

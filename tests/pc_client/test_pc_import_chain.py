"""Import checks the chain: only a certificate the host's CA issued, for this customer, goes in.

``sync_client.chain.issued_by_ca`` is checked on its own against real CAs (the host's, and a
second, equally well-formed CA that is not the brokerage's); then ``pc-client import`` and the
page's import form refuse a foreign file with ``pfx_foreign_ca`` and leave the store as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from pc_harness import (
    CUSTOMER,
    LOGIN_PASSWORD,
    OTHER_CUSTOMER,
    PFX_PASSWORD,
    Pc,
    Server,
    write_pfx,
    write_self_signed_pfx,
)
from starlette.testclient import TestClient

from pc_client.app import Options
from pc_client.web.app import create_web_app
from pc_client.web.settings import WebSettings
from sync_client.chain import certificates_from_pem, is_ca_certificate, issued_by_ca
from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key
from sync_server.ca import CA, new_serial

ITERATIONS = 1000
PAGE_PORT = 48123
PAGE = f"http://127.0.0.1:{PAGE_PORT}"


def _issue(ca: CA, key: PrivateKey, cn: str, *, start: datetime | None = None) -> x509.Certificate:
    csr = x509.load_pem_x509_csr(build_csr_pem(key, cn).encode("ascii"))
    now = start or datetime.now(UTC)
    return ca.issue_certificate(
        csr, subject_cn=cn, serial=new_serial(), not_before=now, not_after=now + timedelta(days=30)
    )


@pytest.fixture
def foreign_ca() -> CA:
    """A real, well-formed CA that is not the brokerage's."""
    return CA.generate()


@pytest.fixture
def second_pc(
    tmp_path: Path, server: Server, customer: str, capsys: pytest.CaptureFixture[str]
) -> Pc:
    pc = Pc(tmp_path / "second" / "BTS", server, capsys, name="second")
    pc.login()
    return pc


# -- sync_client.chain on its own --------------------------------------------------------------


def test_issued_by_ca_accepts_only_the_issuer(server: Server, foreign_ca: CA) -> None:
    ours = server.host.ca
    key = generate_private_key("ec")
    cert = _issue(ours, key, CUSTOMER)

    assert issued_by_ca(cert, [ours.cert]) is True
    assert issued_by_ca(cert, [foreign_ca.cert, ours.cert]) is True
    assert issued_by_ca(cert, [foreign_ca.cert]) is False
    assert issued_by_ca(cert, []) is False
    assert issued_by_ca(_issue(foreign_ca, key, CUSTOMER), [ours.cert]) is False


def test_issued_by_ca_checks_the_signature_not_only_the_names(server: Server) -> None:
    ours = server.host.ca
    key = generate_private_key("ec")
    forger = generate_private_key("ec")
    # The issuer's name copied from our CA, signed by another key.
    forged = (
        x509.CertificateBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CUSTOMER)])
        ).issuer_name(ours.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC)).not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .sign(forger, hashes.SHA256())
    )  # fmt: skip

    assert issued_by_ca(forged, [ours.cert]) is False


def test_issued_by_ca_refuses_a_ca_certificate_and_a_date_outside_the_ca(server: Server) -> None:
    ours = server.host.ca
    assert is_ca_certificate(ours.cert)
    assert issued_by_ca(ours.cert, [ours.cert]) is False  # a CA is not a customer's certificate
    before_ca = ours.cert.not_valid_before_utc - timedelta(days=2)
    early = _issue(ours, generate_private_key("ec"), CUSTOMER, start=before_ca)
    assert issued_by_ca(early, [ours.cert]) is False
    leaf = _issue(ours, generate_private_key("ec"), CUSTOMER)
    assert issued_by_ca(leaf, [leaf]) is False  # a leaf cannot issue


def test_certificates_from_pem_reads_the_hosts_chain(server: Server) -> None:
    chain_pem = server.http.get("/api/v1/ca").json()["chain_pem"]
    assert certificates_from_pem(chain_pem)[0] == server.host.ca.cert
    assert certificates_from_pem("not a certificate") == []
    assert certificates_from_pem("é") == []


# -- pc-client import -------------------------------------------------------------------------


def test_import_refuses_a_certificate_from_another_ca(
    enrolled: Pc, second_pc: Pc, foreign_ca: CA, tmp_path: Path
) -> None:
    key = generate_private_key("ec")
    source = write_pfx(
        tmp_path / "foreign.pfx", key, _issue(foreign_ca, key, CUSTOMER), [foreign_ca.cert]
    )
    for pc in (second_pc, enrolled):
        before = pc.snapshot()
        result = pc.run("import", str(source), "--security-setting", "2",
                        input=f"{PFX_PASSWORD}\n")  # fmt: skip
        assert result.code == 1
        assert result.error == "pfx_foreign_ca", result.data
        assert "brokerage" in result.data["message"]
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert pc.snapshot() == before


def test_import_refuses_a_self_signed_certificate_with_the_customers_id(
    second_pc: Pc, tmp_path: Path
) -> None:
    source = write_self_signed_pfx(tmp_path / "self.pfx", CUSTOMER)
    before = second_pc.snapshot()

    result = second_pc.run("import", str(source), "--security-setting", "2",
                           input=f"{PFX_PASSWORD}\n")  # fmt: skip

    assert result.error == "pfx_foreign_ca"
    assert second_pc.snapshot() == before


def test_import_refuses_the_right_ca_for_another_customer(
    server: Server, second_pc: Pc, tmp_path: Path
) -> None:
    key = generate_private_key("ec")
    theirs = _issue(server.host.ca, key, OTHER_CUSTOMER)
    source = write_pfx(tmp_path / "other.pfx", key, theirs, [server.host.ca.cert])
    before = second_pc.snapshot()

    result = second_pc.run("import", str(source), "--security-setting", "2",
                           input=f"{PFX_PASSWORD}\n")  # fmt: skip

    assert result.error == "pfx_wrong_customer"
    assert second_pc.snapshot() == before


def test_import_accepts_the_customers_own_certificate(enrolled: Pc, second_pc: Pc) -> None:
    data = second_pc.ok("import", str(enrolled.pfx_path()), "--security-setting", "2",
                        input=f"{PFX_PASSWORD}\n")  # fmt: skip

    assert data["verdict"] == "match"
    assert second_pc.open_pfx(PFX_PASSWORD).serial == enrolled.open_pfx(PFX_PASSWORD).serial


# -- the page's import form -------------------------------------------------------------------


def test_the_page_shows_the_refusal_beside_the_file(
    enrolled: Pc, server: Server, foreign_ca: CA, tmp_path: Path
) -> None:
    key = generate_private_key("ec")
    foreign = write_pfx(
        tmp_path / "foreign.pfx", key, _issue(foreign_ca, key, CUSTOMER), [foreign_ca.cert]
    ).read_bytes()
    home = tmp_path / "pc2" / "BTS"
    settings = WebSettings(
        options=Options(home=home, server_url="http://testserver", pfx_iterations=ITERATIONS),
        port=PAGE_PORT, language="zh-TW", http=server.http, on_close=lambda: None,
    )  # fmt: skip
    origin = {"Origin": PAGE}
    with TestClient(
        create_web_app(settings), base_url=PAGE, client=("127.0.0.1", 50123),
        follow_redirects=True,
    ) as page:  # fmt: skip
        page.get(f"/launch/{settings.launch_secret}")
        page.post("/login", data={"customer_id": CUSTOMER, "password": LOGIN_PASSWORD},
                  headers=origin)  # fmt: skip
        form = {"password": PFX_PASSWORD, "security_setting": "2"}
        refused = page.post(
            "/import", data=form, headers=origin,
            files={"pfx_file": (f"{CUSTOMER}.pfx", foreign, "application/x-pkcs12")},
        )  # fmt: skip
        assert refused.status_code == 422
        assert 'id="pfx_file-error"' in refused.text
        assert "券商" in refused.text  # the catalogue's zh-TW sentence
        assert not (home / f"{CUSTOMER}.pfx").exists()

        own = enrolled.pfx_path().read_bytes()
        done = page.post(
            "/import", data=form, headers=origin,
            files={"pfx_file": (f"{CUSTOMER}.pfx", own, "application/x-pkcs12")},
        )  # fmt: skip
        assert "憑證匯入成功" in done.text

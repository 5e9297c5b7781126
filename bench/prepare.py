"""What the benchmarks need before the clock starts, made through the server's own library.

Preparation writes straight into the benchmark database with the same ``Settings`` the server
runs with (``sync_server.host.open_host``), in a few large transactions, because doing it over
HTTP would cost minutes of Argon2id and is not what is being measured:

- customers share one login password, hashed once with the server's Argon2id parameters, so a
  benchmark login costs exactly what a real one does;
- sessions are rows with the SHA-256 of a fresh token, as ``customers.login`` writes them;
- enrollment slips are rows with the hashed code, as ``enrollment.issue_enrollment_code``
  writes them;
- certificates (for status and pairing) are signed by the host's CA from a fresh EC P-256 CSR
  and stored as ``application.apply`` stores them.

Keys and CSRs for the issuance figure are generated here too, before timing.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sync_client.keys import KeyKind, PrivateKey, build_csr_pem, generate_private_key
from sync_client.national_id import LETTER_CODES
from sync_server.ca import new_serial
from sync_server.credentials import (
    hash_enrollment_code,
    hash_password,
    hash_token,
    new_enrollment_code,
    new_token,
)
from sync_server.host import Host
from sync_server.models import Certificate, Customer, EnrollmentCode, LoginSession

# Enough distinct RSA keys that CSRs differ; RSA-2048 generation is far too slow to do per CSR.
RSA_KEY_POOL = 8
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def national_id(letter: str, number: int) -> str:
    """A valid national ID ``<letter>1<7 digits of number><check digit>``."""
    body = f"1{number % 10_000_000:07d}"
    code = LETTER_CODES[letter]
    total = (
        code // 10 + (code % 10) * 9 + sum(w * int(d) for w, d in zip(_WEIGHTS, body, strict=True))
    )
    return f"{letter}{body}{(10 - total % 10) % 10}"


def national_ids(start: int) -> Iterator[str]:
    """Distinct valid IDs from ``start`` on, across the letters A–Z."""
    for n in itertools.count(start):
        letter = "ABCDEFGHJKLMNPQRSTUVXYWZIO"[(n // 10_000_000) % 26]
        yield national_id(letter, n)


@dataclass(frozen=True)
class BenchCustomer:
    """One prepared customer and what the benchmark may do as them."""

    customer_id: str
    pc_token: str
    mobile_token: str
    enrollment_code: str | None
    certificate_fingerprint: str | None

    def __repr__(self) -> str:
        return f"BenchCustomer({self.customer_id!r})"


class Population:
    """Makes customers in one benchmark database; IDs never repeat within the population."""

    def __init__(self, host: Host, *, password: str | None = None) -> None:
        self.host = host
        self.password = password or secrets.token_urlsafe(12)
        settings = host.settings
        # One Argon2id hash for everyone: same parameters, so verification costs the same.
        self._password_hash = hash_password(
            self.password,
            memory_kib=settings.password_kdf_memory_kib,
            iterations=settings.password_kdf_iterations,
        )
        self._ids = national_ids(secrets.randbelow(1000) * 100_000)

    def add(
        self, count: int, *, slip: bool = False, certificate: bool = False
    ) -> list[BenchCustomer]:
        """``count`` new customers with a PC and a mobile session each, in one transaction."""
        host, now = self.host, self.host.now()
        ids = [next(self._ids) for _ in range(count)]
        made: list[BenchCustomer] = []
        with host.db.write() as session:
            # Customers first: without ORM relationships the flush does not order the
            # inserts by foreign key.
            for customer_id in ids:
                session.add(
                    Customer(
                        id=customer_id,
                        name="Bench Customer",
                        password_hash=self._password_hash,
                        created_at=now,
                    )
                )
            session.flush()
            for customer_id in ids:
                tokens = {kind: new_token() for kind in ("pc", "mobile")}
                for kind, token in tokens.items():
                    session.add(
                        LoginSession(
                            token_hash=hash_token(token),
                            customer_id=customer_id,
                            device_kind=kind,
                            created_at=now,
                            expires_at=now + host.settings.session_lifetime,
                        )
                    )
                code = new_enrollment_code() if slip else None
                if code is not None:
                    session.add(
                        EnrollmentCode(
                            customer_id=customer_id,
                            code_hash=hash_enrollment_code(customer_id, code),
                            created_at=now,
                            expires_at=now + host.settings.enrollment_code_lifetime,
                            issued_by="staff:bench",
                        )
                    )
                fingerprint = None
                if certificate:
                    row = self._certificate(customer_id, now)
                    session.add(row)
                    fingerprint = row.fingerprint_sha256
                made.append(
                    BenchCustomer(customer_id, tokens["pc"], tokens["mobile"], code, fingerprint)
                )
        return made

    def _certificate(self, customer_id: str, now: datetime) -> Certificate:
        csr = x509.load_pem_x509_csr(
            build_csr_pem(generate_private_key("ec"), customer_id).encode()
        )
        serial = new_serial()
        not_after = now + self.host.settings.certificate_validity
        cert = self.host.ca.issue_certificate(
            csr,
            subject_cn=customer_id,
            serial=serial,
            not_before=now,
            not_after=not_after,
            crl_url=self.host.crl_url,
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        return Certificate(
            serial=str(serial),
            customer_id=customer_id,
            fingerprint_sha256=hashlib.sha256(der).hexdigest(),
            not_before=now,
            not_after=not_after,
            issued_at=now,
            issued_via="apply",
            cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        )


def make_csrs(customer_ids: Sequence[str], kind: KeyKind) -> list[str]:
    """A PEM CSR for each customer: fresh EC P-256 keys, or a small pool of RSA-2048 keys."""
    if kind == "ec":
        return [build_csr_pem(generate_private_key("ec"), cid) for cid in customer_ids]
    pool: list[PrivateKey] = [generate_private_key("rsa") for _ in range(RSA_KEY_POOL)]
    return [build_csr_pem(pool[i % len(pool)], cid) for i, cid in enumerate(customer_ids)]

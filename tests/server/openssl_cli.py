"""The ``openssl`` command line, run on what the host issues: an independent second opinion."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def openssl(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False, timeout=30
    )


def write_pem(
    path: Path, certs: Iterable[x509.Certificate | x509.CertificateRevocationList]
) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def verify(
    folder: Path,
    leaf: x509.Certificate,
    *,
    trusted: Iterable[x509.Certificate],
    untrusted: Iterable[x509.Certificate] = (),
    crl: x509.CertificateRevocationList | None = None,
    options: Iterable[str] = (),
) -> subprocess.CompletedProcess[bytes]:
    """``openssl verify`` of ``leaf`` against ``trusted`` (and intermediates, and a CRL)."""
    folder.mkdir(parents=True, exist_ok=True)
    args: list[str | Path] = [
        "verify",
        *options,
        "-CAfile",
        write_pem(folder / "trusted.pem", trusted),
    ]
    untrusted = list(untrusted)
    if untrusted:
        args += ["-untrusted", write_pem(folder / "untrusted.pem", untrusted)]
    if crl is not None:
        args += ["-crl_check", "-CRLfile", write_pem(folder / "crl.pem", [crl])]
    args.append(write_pem(folder / "leaf.pem", [leaf]))
    return openssl(*args)

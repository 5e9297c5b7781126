"""How the commands show a certificate just issued and saved (``apply``, ``redownload``,
``renew``): the text a person reads and the ``--json`` object."""

from __future__ import annotations

from pc_client.messages import msg
from pc_client.operations.enroll import IssuedCertificate
from pc_client.render import certificate_time
from sync_client.protocol import format_time


def issued_lines(certificate: IssuedCertificate, headline: str) -> list[str]:
    """What a person reads after a certificate was issued and saved."""
    return [
        headline,
        msg("issued.serial", serial=certificate.serial_display),
        msg(
            "issued.validity",
            start=certificate_time(certificate.not_before),
            end=certificate_time(certificate.not_after),
        ),
        msg("issued.saved", path=certificate.path),
    ]


def issued_json(certificate: IssuedCertificate) -> dict[str, object]:
    """The ``--json`` answer after a certificate was issued and saved."""
    return {
        "customer_id": certificate.customer_id,
        "serial": str(certificate.serial),
        "serial_display": certificate.serial_display,
        "not_before": format_time(certificate.not_before),
        "not_after": format_time(certificate.not_after),
        "fingerprint_sha256": certificate.fingerprint_sha256,
        "path": str(certificate.path),
    }

"""The server's values as the wire's response models (``sync_client.wire``): what every JSON
answer is built from, so that the server says exactly what the models (and ``/openapi.json``)
document.

The two busiest answers, status and an issued certificate, are also encoded directly
(``status_body``, ``issued_body``): a plain dict through ``orjson``, the CA chain (the same for
every answer) spliced in already encoded. They carry exactly the fields and formats of their
models; a test compares both encodings for every status.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import orjson

from sync_client.protocol import StatusCode, format_serial, format_time
from sync_client.wire.certificates import CertificateObject, IssuedResponse, StatusResponse
from sync_client.wire.errors import ErrorResponse
from sync_client.wire.info import InfoResponse, PolicyResponse, Terms
from sync_client.wire.sessions import LoginResponse, RenewalReminder
from sync_server.certificate_views import Status, certificate_state
from sync_server.customers import NewSession
from sync_server.errors import ServiceError
from sync_server.host import Host
from sync_server.info import BrokerageInfo
from sync_server.models import Certificate


def certificate_object(cert: Certificate, *, now: datetime, window: timedelta) -> CertificateObject:
    return CertificateObject(
        customer_id=cert.customer_id,
        serial=cert.serial,
        serial_display=format_serial(int(cert.serial)),
        subject_cn=cert.customer_id,
        not_before=cert.not_before,
        not_after=cert.not_after,
        fingerprint_sha256=cert.fingerprint_sha256,
        status=certificate_state(cert, now=now, window=window),  # type: ignore[arg-type]
        cert_pem=cert.cert_pem,
    )


def status_answer(host: Host, status: Status) -> StatusResponse:
    now, window = host.now(), host.settings.renewal_window
    cert = status.certificate
    return StatusResponse(
        customer_id=status.customer_id,
        code=int(status.code),  # type: ignore[arg-type]
        label=status.code.label,  # type: ignore[arg-type]
        certificate=certificate_object(cert, now=now, window=window) if cert else None,
        renewal_opens_at=status.renewal_opens_at,
        chain_pem=host.ca.chain_pem,
    )


def issued_answer(host: Host, cert: Certificate) -> IssuedResponse:
    return IssuedResponse(
        certificate=certificate_object(cert, now=host.now(), window=host.settings.renewal_window),
        chain_pem=host.ca.chain_pem,
    )


# -- the fast encodings of the two busiest answers -----------------------------------------


@functools.lru_cache(maxsize=4)
def _encoded_string(text: str) -> bytes:
    """``text`` as a JSON string, encoded once (the CA chain: a few KB, on every answer)."""
    return orjson.dumps(text)


def _with_chain(fields: dict[str, Any], chain_pem: str) -> bytes:
    """``fields`` as a JSON object with ``"chain_pem"`` last, the chain already encoded."""
    return orjson.dumps(fields)[:-1] + b',"chain_pem":' + _encoded_string(chain_pem) + b"}"


def _certificate_fields(cert: Certificate, *, now: datetime, window: timedelta) -> dict[str, Any]:
    """``certificate_object`` as the dict its model encodes to."""
    return {
        "customer_id": cert.customer_id,
        "serial": cert.serial,
        "serial_display": format_serial(int(cert.serial)),
        "subject_cn": cert.customer_id,
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "status": certificate_state(cert, now=now, window=window),
        "cert_pem": cert.cert_pem,
    }


def status_body(host: Host, status: Status) -> bytes:
    """``status_answer(host, status).to_json_bytes()``, encoded directly."""
    now, window = host.now(), host.settings.renewal_window
    cert = status.certificate
    opens = status.renewal_opens_at
    fields = {
        "customer_id": status.customer_id,
        "code": int(status.code),
        "label": status.code.label,
        "certificate": _certificate_fields(cert, now=now, window=window) if cert else None,
        "renewal_opens_at": format_time(opens) if opens is not None else None,
    }
    return _with_chain(fields, host.ca.chain_pem)


def issued_body(host: Host, cert: Certificate) -> bytes:
    """``issued_answer(host, cert).to_json_bytes()``, encoded directly."""
    fields = {
        "certificate": _certificate_fields(
            cert, now=host.now(), window=host.settings.renewal_window
        )
    }
    return _with_chain(fields, host.ca.chain_pem)


def login_answer(new: NewSession, status: Status) -> LoginResponse:
    """The new session; a renewal reminder while its certificate is inside the window."""
    reminder = None
    if status.code == StatusCode.EXPIRING and status.certificate is not None:
        reminder = RenewalReminder(
            not_after=status.certificate.not_after,
            serial_display=format_serial(int(status.certificate.serial)),
        )
    return LoginResponse(
        token=new.token,
        expires_at=new.expires_at,
        customer_id=new.customer_id,
        device_kind=new.device_kind,  # type: ignore[arg-type]
        renewal_reminder=reminder,
    )


def policy_answer(host: Host) -> PolicyResponse:
    settings = host.settings
    return PolicyResponse(
        pfx_password_min_length=settings.pfx_password_min_length,
        renewal_window_days=settings.renewal_window // timedelta(days=1),
        certificate_validity_days=settings.certificate_validity // timedelta(days=1),
        relay_slot_lifetime_seconds=int(settings.relay_slot_lifetime.total_seconds()),
        server_time=host.now(),
        order_audience=host.order_audience,
    )


def info_answer(info: BrokerageInfo) -> InfoResponse:
    return InfoResponse(
        brokerage_name=dict(info.brokerage_name),
        service_phone=info.service_phone,
        service_hours=dict(info.service_hours),
        terms=Terms(version=info.terms_version, text=dict(info.terms_text)),
    )


def error_answer(exc: ServiceError) -> ErrorResponse:
    return ErrorResponse(error=exc.code.value, message=exc.message, details=exc.details or None)

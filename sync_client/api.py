"""The HTTP calls of docs/PROTOCOL.md, for ``pc_client`` and ``mobile_stub``.

``SyncClient`` wraps an ``httpx.Client``: the CLIs pass a real one (``SyncClient.connect``),
tests pass Starlette's ``TestClient`` (which is an ``httpx.Client``) and so run against the real
app in process. Transport failures become ``ServerUnreachable`` naming the URL; refusals become
``ServerRefused`` carrying the server's code and message. Nothing here logs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509

from sync_client.errors import ServerRefused, ServerUnreachable
from sync_client.i18n import msg
from sync_client.protocol import API_PREFIX, parse_time

DEFAULT_TIMEOUT = 15.0
# The relay's long-poll holds a response for up to 30 s; reads may take that long.
LONG_POLL_READ_TIMEOUT = 45.0
UNLOCK_SECRET_BYTES = 32


@dataclass(frozen=True)
class HostCertificate:
    """The certificate object of the protocol."""

    customer_id: str
    serial: int
    serial_display: str
    subject_cn: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    status: str
    cert_pem: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostCertificate:
        return cls(
            customer_id=data["customer_id"],
            serial=int(data["serial"]),
            serial_display=data["serial_display"],
            subject_cn=data["subject_cn"],
            not_before=parse_time(data["not_before"]),
            not_after=parse_time(data["not_after"]),
            fingerprint_sha256=data["fingerprint_sha256"],
            status=data["status"],
            cert_pem=data["cert_pem"],
        )

    def load(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())


@dataclass(frozen=True)
class HostStatus:
    customer_id: str
    code: int
    label: str
    certificate: HostCertificate | None
    renewal_opens_at: datetime | None
    chain_pem: str

    @property
    def is_valid(self) -> bool:
        return self.code in (0, 31)


@dataclass(frozen=True)
class Issued:
    certificate: HostCertificate
    chain_pem: str

    def chain(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain_pem.encode())


@dataclass(frozen=True)
class LoginResult:
    token: str
    customer_id: str
    device_kind: str
    expires_at: datetime
    renewal_reminder: dict[str, Any] | None

    def __repr__(self) -> str:
        return f"LoginResult(customer_id={self.customer_id!r}, device_kind={self.device_kind!r})"


@dataclass(frozen=True)
class RenewalChallenge:
    challenge_id: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class SlotState:
    slot_id: str
    state: str  # open, claimed, expired, cancelled
    expires_at: datetime


@dataclass(frozen=True)
class BrokerageInfo:
    """``GET /info``: the operator's words. Each ``dict`` maps a language (``zh-TW``, ``en``)
    to its text; ``terms_version`` is what ``apply`` and ``renew`` send back."""

    brokerage_name: dict[str, str]
    service_phone: str
    service_hours: dict[str, str]
    terms_version: str
    terms_text: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrokerageInfo:
        """Raises ``KeyError``/``TypeError`` on a body of another shape."""

        def texts(value: object) -> dict[str, str]:
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise TypeError("not an object of language -> text")
            return dict(value)

        terms = data["terms"]
        if not isinstance(terms, dict) or not isinstance(data["service_phone"], str):
            raise TypeError("terms must be an object and service_phone a string")
        if not isinstance(terms["version"], str):
            raise TypeError("terms.version must be a string")
        return cls(
            brokerage_name=texts(data["brokerage_name"]),
            service_phone=data["service_phone"],
            service_hours=texts(data["service_hours"]),
            terms_version=terms["version"],
            terms_text=texts(terms["text"]),
        )


class SyncClient:
    """One customer's conversation with the server. ``token`` is the session, if logged in."""

    def __init__(self, http: httpx.Client, *, token: str | None = None) -> None:
        self.http = http
        self.token = token

    @classmethod
    def connect(
        cls, server_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> SyncClient:
        limits = httpx.Timeout(timeout, read=max(timeout, LONG_POLL_READ_TIMEOUT))
        return cls(httpx.Client(base_url=server_url.rstrip("/"), timeout=limits), token=token)

    @property
    def server_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def __repr__(self) -> str:
        return f"SyncClient({self.server_url!r}, logged_in={self.token is not None})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        headers = {}
        if auth and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(
                method, API_PREFIX + path, json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                msg("sdk.api.unreachable", url=self.server_url, kind=type(exc).__name__)
            ) from exc
        if response.status_code >= 400:
            raise _refusal(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ServerRefused(
                "bad_response",
                msg("sdk.api.not_json", url=self.server_url),
                status=response.status_code,
            )
        return data

    # -- server facts -------------------------------------------------------------------

    def policy(self) -> dict[str, Any]:
        return self._json("GET", "/policy", auth=False)

    def ca_chain_pem(self) -> str:
        return str(self._json("GET", "/ca", auth=False)["chain_pem"])

    def info(self) -> BrokerageInfo:
        """The brokerage's name, service line and hours, and the terms with their version.

        An answer of another shape is ``ServerRefused`` ``bad_response``.
        """
        data = self._json("GET", "/info", auth=False)
        try:
            return BrokerageInfo.from_json(data)
        except (KeyError, TypeError):
            raise ServerRefused(
                "bad_response",
                msg("sdk.api.bad_info", url=self.server_url),
                status=200,
            ) from None

    # -- sessions -----------------------------------------------------------------------

    def login(self, customer_id: str, password: str, *, device_kind: str) -> LoginResult:
        data = self._json(
            "POST",
            "/sessions",
            json={"customer_id": customer_id, "password": password, "device_kind": device_kind},
            auth=False,
        )
        self.token = data["token"]
        return LoginResult(
            token=data["token"],
            customer_id=data["customer_id"],
            device_kind=data["device_kind"],
            expires_at=parse_time(data["expires_at"]),
            renewal_reminder=data.get("renewal_reminder"),
        )

    def logout(self) -> None:
        self._call("DELETE", "/sessions/current")
        self.token = None

    def unlock_secret(self) -> bytes:
        """The live session's 32-byte unlock secret (``sync_client.session_key``).

        The server refuses it with ``unauthenticated`` once the session has ended or expired.
        An answer that is not 32 bytes of base64url is ``ServerRefused`` ``bad_response``.
        """
        data = self._json("GET", "/sessions/current/unlock-secret")
        raw = data.get("unlock_secret")
        secret = b""
        if isinstance(raw, str) and raw.isascii():
            try:
                secret = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            except binascii.Error:
                secret = b""
        if len(secret) != UNLOCK_SECRET_BYTES:
            raise ServerRefused(
                "bad_response",
                msg("sdk.api.bad_unlock_secret", url=self.server_url, size=UNLOCK_SECRET_BYTES),
                status=200,
            )
        return secret

    # -- certificates -------------------------------------------------------------------

    def status(self) -> HostStatus:
        data = self._json("GET", "/certificate/status")
        cert = data.get("certificate")
        opens = data.get("renewal_opens_at")
        return HostStatus(
            customer_id=data["customer_id"],
            code=int(data["code"]),
            label=data["label"],
            certificate=HostCertificate.from_json(cert) if cert else None,
            renewal_opens_at=parse_time(opens) if opens else None,
            chain_pem=data["chain_pem"],
        )

    def check_enrollment_code(self, code: str) -> datetime:
        """Check the slip's code before the other prompts, without using it; the slip's expiry.

        A wrong code counts as a try, as at ``apply`` (``enrollment_code_invalid`` with
        ``details["tries_left"]``, then ``enrollment_code_locked``).
        """
        data = self._json("POST", "/enrollment/check", json={"enrollment_code": code})
        return parse_time(data["expires_at"])

    def apply(
        self,
        *,
        enrollment_code: str,
        csr_pem: str,
        terms_accepted: bool,
        terms_version: str | None = None,
    ) -> Issued:
        """``terms_version``: the version of the terms the customer read (``info()``); the
        server refuses another with ``terms_version_outdated``. Sent only when given."""
        body: dict[str, Any] = {
            "enrollment_code": enrollment_code,
            "terms_accepted": terms_accepted,
            "csr_pem": csr_pem,
        }
        if terms_version is not None:
            body["terms_version"] = terms_version
        return _issued(self._json("POST", "/certificate/apply", json=body))

    def renewal_challenge(self) -> RenewalChallenge:
        data = self._json("POST", "/certificate/renewal-challenge")
        return RenewalChallenge(data["challenge_id"], data["nonce"], parse_time(data["expires_at"]))

    def renew(
        self,
        *,
        challenge_id: str,
        csr_pem: str,
        signature: bytes,
        terms_version: str | None = None,
    ) -> Issued:
        """``terms_version`` as at ``apply``: sent only when given."""
        body: dict[str, Any] = {
            "challenge_id": challenge_id,
            "csr_pem": csr_pem,
            "signature": base64.b64encode(signature).decode(),
        }
        if terms_version is not None:
            body["terms_version"] = terms_version
        return _issued(self._json("POST", "/certificate/renew", json=body))

    def redownload(self) -> Issued:
        return _issued(self._json("POST", "/certificate/redownload", json={}))

    def place_order(
        self, *, order: dict[str, Any], signature: bytes, serial: int
    ) -> dict[str, Any]:
        return self._json(
            "POST",
            "/orders",
            json={
                "order": order,
                "signature": base64.b64encode(signature).decode(),
                "serial": str(serial),
            },
        )

    # -- relay --------------------------------------------------------------------------

    def open_slot(self, *, certificate_fingerprint: str) -> SlotState:
        data = self._json(
            "POST", "/relay/slots", json={"certificate_fingerprint": certificate_fingerprint}
        )
        return SlotState(data["slot_id"], "open", parse_time(data["expires_at"]))

    def upload_ciphertext(self, slot_id: str, envelope: bytes) -> None:
        self._call(
            "PUT",
            f"/relay/slots/{slot_id}/ciphertext",
            json={"ciphertext": base64.b64encode(envelope).decode()},
        )

    def wait_slot(self, slot_id: str, *, after: str = "open", wait: float = 25.0) -> SlotState:
        """Long-poll until the slot's state differs from ``after`` or ``wait`` seconds pass."""
        data = self._json(
            "GET",
            f"/relay/slots/{slot_id}/events",
            params={"after": after, "wait": f"{min(wait, 30.0):g}"},
        )
        return SlotState(data["slot_id"], data["state"], parse_time(data["expires_at"]))

    def claim_slot(self, slot_id: str) -> bytes:
        data = self._json("POST", f"/relay/slots/{slot_id}/claim")
        return base64.b64decode(data["ciphertext"])

    def cancel_slot(self, slot_id: str) -> None:
        self._call("DELETE", f"/relay/slots/{slot_id}")


def _issued(data: dict[str, Any]) -> Issued:
    return Issued(HostCertificate.from_json(data["certificate"]), data["chain_pem"])


def _refusal(response: httpx.Response) -> ServerRefused:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        details = body.get("details")
        return ServerRefused(
            body["error"],
            str(body.get("message", "")),
            status=response.status_code,
            details=details if isinstance(details, dict) else None,
        )
    return ServerRefused(
        "bad_response",
        msg("sdk.api.no_explanation", status=response.status_code),
        status=response.status_code,
    )

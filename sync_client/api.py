"""The HTTP calls of docs/PROTOCOL.md, for ``pc_client`` and ``mobile_stub``.

``SyncClient`` wraps an ``httpx2.Client``: the CLIs pass a real one (``SyncClient.connect``),
tests pass Starlette's ``TestClient`` (which is an ``httpx2.Client``) and so run against the real
app in process. Each call takes its method and path from the route table
(``sync_client.wire.routes``), builds its body with the route's request model and reads the
answer with its response model, as the server does on its side. Transport failures become
``ServerUnreachable`` naming the URL and the cause in words (``transport_cause``); refusals
become ``ServerRefused`` carrying the server's code and message; an answer that is not the
protocol's shape is ``ServerRefused`` ``bad_response``. Nothing here logs.
"""

from __future__ import annotations

import socket
import ssl
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

import httpx2
from pydantic import ValidationError

from sync_client.errors import ClientCode, ServerRefused, ServerUnreachable
from sync_client.i18n import N_, msg
from sync_client.orders import SignedOrder
from sync_client.results import (
    BrokerageInfo,
    ClaimedSlot,
    HostCertificate,
    HostStatus,
    Issued,
    LoginResult,
    RenewalChallenge,
    SlotState,
)
from sync_client.wire import routes
from sync_client.wire.base import WireRequest, WireResponse
from sync_client.wire.certificates import IssuedResponse, StatusResponse
from sync_client.wire.enrollment import (
    ApplyRequest,
    EnrollmentCheckRequest,
    EnrollmentCheckResponse,
)
from sync_client.wire.errors import ErrorResponse
from sync_client.wire.info import CaChainResponse, InfoResponse, PolicyResponse
from sync_client.wire.orders import Order, OrderRequest, OrderResponse
from sync_client.wire.redownload import RedownloadRequest
from sync_client.wire.relay import (
    ClaimResponse,
    OpenSlotRequest,
    OpenSlotResponse,
    SlotEventsQuery,
    SlotStateResponse,
    UploadRequest,
)
from sync_client.wire.renewal import RenewalChallengeResponse, RenewRequest
from sync_client.wire.sessions import LoginRequest, LoginResponse

DEFAULT_TIMEOUT = 15.0
# The relay's long-poll holds a response for up to 30 s; reads may take that long.
LONG_POLL_READ_TIMEOUT = 45.0
R = TypeVar("R", bound=WireResponse)
# The values the calls return live in ``sync_client.results``; they are named here too.
__all__ = [
    "BrokerageInfo",
    "ClaimedSlot",
    "HostCertificate",
    "HostStatus",
    "Issued",
    "LoginResult",
    "RenewalChallenge",
    "SlotState",
    "SyncClient",
]


class SyncClient:
    """One customer's conversation with the server. ``token`` is the session, if logged in."""

    def __init__(self, http: httpx2.Client, *, token: str | None = None) -> None:
        self.http = http
        self.token = token

    @classmethod
    def connect(
        cls, server_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> SyncClient:
        limits = httpx2.Timeout(timeout, read=max(timeout, LONG_POLL_READ_TIMEOUT))
        return cls(httpx2.Client(base_url=server_url.rstrip("/"), timeout=limits), token=token)

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
        route: routes.Route,
        *,
        body: WireRequest | None = None,
        params: dict[str, str] | None = None,
        **path: str,
    ) -> httpx2.Response:
        headers = {}
        if route.session is not None and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        json = body.to_wire() if body is not None else None
        try:
            response = self.http.request(
                route.method, route.url(**path), json=json, params=params, headers=headers
            )
        except httpx2.TransportError as exc:
            cause = transport_cause(exc)
            raise ServerUnreachable(
                msg("sdk.api.unreachable", url=self.server_url, cause=cause_text(cause)),
                cause=cause,
            ) from exc
        if response.status_code >= 400:
            raise _refusal(response)
        return response

    def _answer(
        self,
        route: routes.Route,
        model: type[R],
        *,
        body: WireRequest | None = None,
        params: dict[str, str] | None = None,
        shape_message: str | None = None,
        **path: str,
    ) -> R:
        """The route's answer read by ``model``; ``bad_response`` when it does not fit."""
        assert model in route.answers.values(), (route.name, model)
        response = self._call(route, body=body, params=params, **path)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                message = msg("sdk.api.not_json", url=self.server_url)
            else:
                message = shape_message or msg("sdk.api.bad_answer", url=self.server_url)
            raise ServerRefused(
                ClientCode.BAD_RESPONSE, message, status=response.status_code
            ) from None

    # -- server facts -------------------------------------------------------------------

    def policy(self) -> PolicyResponse:
        """Password policy, windows, lifetimes and the server's clock (``server_time``)."""
        return self._answer(routes.POLICY, PolicyResponse)

    def ca_chain_pem(self) -> str:
        return self._answer(routes.CA_CHAIN, CaChainResponse).chain_pem

    def info(self) -> BrokerageInfo:
        """The brokerage's name, service line and hours, and the terms with their version.

        An answer of another shape is ``ServerRefused`` ``bad_response``.
        """
        bad_info = msg("sdk.api.bad_info", url=self.server_url)
        return BrokerageInfo.from_wire(
            self._answer(routes.INFO, InfoResponse, shape_message=bad_info)
        )

    # -- sessions -----------------------------------------------------------------------

    def login(self, customer_id: str, password: str, *, device_kind: str) -> LoginResult:
        sent = LoginRequest.model_construct(
            customer_id=customer_id, password=password, device_kind=device_kind
        )  # unchecked here: the server refuses a bad one, with its own code
        data = self._answer(routes.LOGIN, LoginResponse, body=sent)
        self.token = data.token
        reminder = data.renewal_reminder
        return LoginResult(
            token=data.token,
            customer_id=data.customer_id,
            device_kind=data.device_kind,
            expires_at=data.expires_at,
            renewal_reminder=reminder.to_wire() if reminder is not None else None,
        )

    def logout(self) -> None:
        self._call(routes.LOGOUT)
        self.token = None

    # -- certificates -------------------------------------------------------------------

    def status(self) -> HostStatus:
        data = self._answer(routes.STATUS, StatusResponse)
        cert = data.certificate
        return HostStatus(
            customer_id=data.customer_id,
            code=data.code,
            label=data.label,
            certificate=HostCertificate.from_wire(cert) if cert is not None else None,
            renewal_opens_at=data.renewal_opens_at,
            chain_pem=data.chain_pem,
        )

    def check_enrollment_code(self, code: str) -> datetime:
        """Check the slip's code before the other prompts, without using it; the slip's expiry.

        A wrong code counts as a try, as at ``apply`` (``enrollment_code_invalid`` with
        ``details["tries_left"]``, then ``enrollment_code_locked``).
        """
        sent = EnrollmentCheckRequest.model_construct(enrollment_code=code)
        data = self._answer(routes.ENROLLMENT_CHECK, EnrollmentCheckResponse, body=sent)
        return data.expires_at

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
        sent = ApplyRequest.model_construct(
            enrollment_code=enrollment_code,
            terms_accepted=terms_accepted,
            csr_pem=csr_pem,
            **_given(terms_version=terms_version),
        )
        return Issued.from_wire(self._answer(routes.APPLY, IssuedResponse, body=sent))

    def renewal_challenge(self) -> RenewalChallenge:
        data = self._answer(routes.RENEWAL_CHALLENGE, RenewalChallengeResponse)
        return RenewalChallenge(data.challenge_id, data.nonce, data.expires_at)

    def renew(
        self,
        *,
        challenge_id: str,
        csr_pem: str,
        signature: bytes,
        terms_version: str | None = None,
    ) -> Issued:
        """``terms_version`` as at ``apply``: sent only when given."""
        sent = RenewRequest.model_construct(
            challenge_id=challenge_id,
            signature=signature,
            csr_pem=csr_pem,
            **_given(terms_version=terms_version),
        )
        return Issued.from_wire(self._answer(routes.RENEW, IssuedResponse, body=sent))

    def redownload(self) -> Issued:
        sent = RedownloadRequest()
        return Issued.from_wire(self._answer(routes.REDOWNLOAD, IssuedResponse, body=sent))

    def place_order(self, signed: SignedOrder) -> OrderResponse:
        """Send an order as ``sync_client.orders.sign_order`` signed it, with what its
        signature is bound to (serial, customer, audience). ``signed.order`` must be in the
        protocol's form, as ``build_order`` makes it (``pydantic.ValidationError`` otherwise:
        nothing is sent)."""
        sent = OrderRequest(
            order=Order.model_validate(signed.order),
            signature=signed.signature,
            serial=str(signed.serial),
            customer_id=signed.customer_id,
            audience=signed.audience,
        )
        return self._answer(routes.PLACE_ORDER, OrderResponse, body=sent)

    # -- relay --------------------------------------------------------------------------

    def open_slot(self, *, certificate_fingerprint: str) -> SlotState:
        sent = OpenSlotRequest.model_construct(certificate_fingerprint=certificate_fingerprint)
        data = self._answer(routes.OPEN_SLOT, OpenSlotResponse, body=sent)
        return SlotState(data.slot_id, "open", data.expires_at)

    def upload_ciphertext(self, slot_id: str, envelope: bytes) -> None:
        sent = UploadRequest(ciphertext=envelope)
        self._call(routes.UPLOAD_CIPHERTEXT, body=sent, slot_id=slot_id)

    def wait_slot(self, slot_id: str, *, after: str = "open", wait: float = 25.0) -> SlotState:
        """Long-poll until the slot's state differs from ``after`` or ``wait`` seconds pass."""
        query = SlotEventsQuery.model_validate({"after": after, "wait": wait})
        params = {"after": query.after, "wait": f"{query.wait:g}"}
        data = self._answer(routes.SLOT_EVENTS, SlotStateResponse, params=params, slot_id=slot_id)
        return SlotState(data.slot_id, data.state, data.expires_at)

    def claim_slot(self, slot_id: str) -> ClaimedSlot:
        data = self._answer(routes.CLAIM_SLOT, ClaimResponse, slot_id=slot_id)
        return ClaimedSlot(
            slot_id=data.slot_id,
            certificate_fingerprint=data.certificate_fingerprint.lower(),
            ciphertext=data.ciphertext,
        )

    def cancel_slot(self, slot_id: str) -> None:
        self._call(routes.CANCEL_SLOT, slot_id=slot_id)


class Cause(StrEnum):
    """Why there was no answer, in a word (``ServerUnreachable.details["cause"]``); the
    catalogue's sentence for each is in ``_CAUSE_TEXT``."""

    NO_ANSWER = "timeout"  # a timeout: nothing came back in time
    NOT_FOUND = "name_unknown"  # the name does not resolve (DNS)
    REFUSED = "connection_refused"  # nothing listens on that port
    TLS_UNTRUSTED = "tls_untrusted"  # the server's TLS certificate does not verify
    TLS_FAILED = "tls_failed"  # another TLS failure (protocol, handshake)
    DROPPED = "connection_dropped"  # the connection was broken off, or the answer was not HTTP
    BAD_ADDRESS = "unusable_url"  # the URL cannot be used at all
    FAILED = "network_failed"  # anything else the network layer reports


_CAUSE_TEXT: Final[dict[Cause, str]] = {
    Cause.NO_ANSWER: N_("sdk.cause.no_answer"),
    Cause.NOT_FOUND: N_("sdk.cause.not_found"),
    Cause.REFUSED: N_("sdk.cause.refused"),
    Cause.TLS_UNTRUSTED: N_("sdk.cause.tls_untrusted"),
    Cause.TLS_FAILED: N_("sdk.cause.tls_failed"),
    Cause.DROPPED: N_("sdk.cause.dropped"),
    Cause.BAD_ADDRESS: N_("sdk.cause.bad_address"),
    Cause.FAILED: N_("sdk.cause.failed"),
}


def transport_cause(exc: BaseException) -> Cause:
    """Why a request got no answer, from the network layer's exception and what it chains.

    httpx2 reports a refused port, an unknown name and an untrusted certificate all as
    ``ConnectError``; the OS's and ``ssl``'s exceptions underneath tell them apart.
    """
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen and len(seen) < 10:
        seen.append(link)
        link = link.__cause__ or link.__context__
    for link in seen:
        if isinstance(link, ssl.SSLCertVerificationError):
            return Cause.TLS_UNTRUSTED
        if isinstance(link, ssl.SSLError):
            return Cause.TLS_FAILED
        if isinstance(link, socket.gaierror):
            return Cause.NOT_FOUND
        if isinstance(link, ConnectionRefusedError):
            return Cause.REFUSED
    if any(isinstance(link, httpx2.TimeoutException | TimeoutError) for link in seen):
        return Cause.NO_ANSWER
    if isinstance(exc, httpx2.UnsupportedProtocol):
        return Cause.BAD_ADDRESS
    if any(
        isinstance(link, httpx2.ReadError | httpx2.RemoteProtocolError | ConnectionError)
        for link in seen
    ):
        return Cause.DROPPED
    return Cause.FAILED


def cause_text(cause: Cause) -> str:
    """``cause`` in words, in the run's language."""
    return msg(_CAUSE_TEXT[cause])


def _given(**fields: str | None) -> dict[str, Any]:
    """The optional fields that have a value (the others are left out of the body)."""
    return {name: value for name, value in fields.items() if value is not None}


def _refusal(response: httpx2.Response) -> ServerRefused:
    try:
        body = ErrorResponse.model_validate_json(response.content)
    except ValidationError:
        return ServerRefused(
            ClientCode.BAD_RESPONSE,
            msg("sdk.api.no_explanation", status=response.status_code),
            status=response.status_code,
        )
    return ServerRefused(
        body.error, body.message, status=response.status_code, details=body.details
    )

"""The route table: every route of the protocol, declared once.

Each ``Route`` names its method and path, its request (or query) model, its answers (status →
response model, ``None`` for no JSON body), the session it needs (``None``: none; ``"any"``;
or a device kind) and the error codes it may answer. The server binds a handler to each route
by ``name`` and builds its routing from this table; ``sync_server.openapi`` generates
``/openapi.json`` from it; the SDK takes its methods and paths from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from sync_client.codes import ErrorCode as E
from sync_client.wire.base import WireRequest, WireResponse
from sync_client.wire.certificates import IssuedResponse, StatusResponse
from sync_client.wire.enrollment import (
    ApplyRequest,
    EnrollmentCheckRequest,
    EnrollmentCheckResponse,
)
from sync_client.wire.info import (
    CaChainResponse,
    HealthResponse,
    InfoResponse,
    PolicyResponse,
    ReadyResponse,
)
from sync_client.wire.orders import OrderRequest, OrderResponse
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

SessionKind = Literal["any", "pc", "mobile"]
JSON = "application/json"

_SLIP = (
    E.CERTIFICATE_ALREADY_VALID,
    E.ENROLLMENT_CODE_INVALID,
    E.ENROLLMENT_CODE_SUPERSEDED,
    E.ENROLLMENT_CODE_EXPIRED,
    E.ENROLLMENT_CODE_USED,
    E.ENROLLMENT_CODE_LOCKED,
)
_CSR = (E.CSR_INVALID, E.CSR_SIGNATURE_INVALID, E.CSR_SUBJECT_MISMATCH, E.CSR_KEY_UNSUPPORTED)
_SLOT_ENDED = (E.SLOT_EXPIRED, E.SLOT_SPENT, E.SLOT_CANCELLED)

# The form of each path parameter. A value not in it names nothing: the route answers the
# parameter's "not found" before any rule or query sees it (``sync_server.bodies``).
SLOT_ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"  # base64url of 128 bits, no padding
PATH_PATTERNS: Mapping[str, str] = {"slot_id": SLOT_ID_PATTERN}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    summary: str
    answers: Mapping[int, type[WireResponse] | None]
    request: type[WireRequest] | None = None
    query: type[WireRequest] | None = None
    session: SessionKind | None = None
    errors: tuple[E, ...] = ()
    media_type: str = JSON  # of the success answer

    @property
    def refusals(self) -> tuple[E, ...]:
        """Every code this route may answer: its own, and those every route of its kind has."""
        implied: list[E] = []
        if self.request is not None or self.query is not None:
            implied.append(E.BAD_REQUEST)
        if self.request is not None:
            implied.append(E.PAYLOAD_TOO_LARGE)
        if self.session is not None:
            implied.append(E.UNAUTHENTICATED)
        if self.session in ("pc", "mobile"):
            implied.append(E.WRONG_DEVICE_KIND)
        implied.append(E.INTERNAL_ERROR)
        return tuple(dict.fromkeys([*self.errors, *implied]))

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))

    def url(self, **params: str) -> str:
        """The path with its parameters filled in (each quoted as one path segment)."""
        return self.path.format(**{k: quote(v, safe="") for k, v in params.items()})


HEALTHZ = Route(
    "healthz", "GET", "/healthz", "Liveness: the database answers", {200: HealthResponse}
)
READYZ = Route(
    "readyz",
    "GET",
    "/readyz",
    "Readiness: database at this version's schema, CA loaded",
    {200: ReadyResponse},
    errors=(E.NOT_READY,),
)
METRICS = Route(
    "metrics",
    "GET",
    "/metrics",
    "Prometheus metrics (text format; keep it off the public network)",
    {200: None},
    media_type="text/plain",
)
OPENAPI = Route("openapi", "GET", "/openapi.json", "This document", {200: None})
PAIR_PAGE = Route(
    "pair_page",
    "GET",
    "/pair/{slot_id}",
    "Where a phone's camera lands from the QR link (the key stays in the fragment)",
    {200: None},
    media_type="text/html",
)
POLICY = Route(
    "policy",
    "GET",
    "/api/v1/policy",
    "Password policy, windows, lifetimes and the server clock",
    {200: PolicyResponse},
)
INFO = Route(
    "info",
    "GET",
    "/api/v1/info",
    "The brokerage's name, service line and hours, and the terms with their version",
    {200: InfoResponse},
)
CA_CHAIN = Route(
    "ca_chain", "GET", "/api/v1/ca", "The CA chain (issuing CA first)", {200: CaChainResponse}
)
CRL = Route(
    "crl",
    "GET",
    "/api/v1/crl",
    "The current CRL (DER)",
    {200: None},
    media_type="application/pkix-crl",
)
LOGIN = Route(
    "login",
    "POST",
    "/api/v1/sessions",
    "Log in (device_kind pc or mobile)",
    {201: LoginResponse},
    request=LoginRequest,
    errors=(E.INVALID_NATIONAL_ID, E.LOGIN_FAILED, E.ACCOUNT_LOCKED),
)
LOGOUT = Route(
    "logout", "DELETE", "/api/v1/sessions/current", "Log out (no body)", {204: None}, session="any"
)
STATUS = Route(
    "status",
    "GET",
    "/api/v1/certificate/status",
    "Certificate status (0, 31, 40, 41, 42)",
    {200: StatusResponse},
    session="any",
)
ENROLLMENT_CHECK = Route(
    "enrollment_check",
    "POST",
    "/api/v1/enrollment/check",
    "Check the enrollment slip's code without using it (PC)",
    {200: EnrollmentCheckResponse},
    request=EnrollmentCheckRequest,
    session="pc",
    errors=_SLIP,
)
APPLY = Route(
    "apply",
    "POST",
    "/api/v1/certificate/apply",
    "Apply with an enrollment code and a CSR (PC)",
    {201: IssuedResponse},
    request=ApplyRequest,
    session="pc",
    errors=(E.TERMS_NOT_ACCEPTED, E.TERMS_VERSION_OUTDATED, *_SLIP, *_CSR),
)
RENEWAL_CHALLENGE = Route(
    "renewal_challenge",
    "POST",
    "/api/v1/certificate/renewal-challenge",
    "A fresh challenge for renewal (PC; no body)",
    {201: RenewalChallengeResponse},
    session="pc",
    errors=(E.NO_CERTIFICATE, E.RENEWAL_NOT_OPEN),
)
RENEW = Route(
    "renew",
    "POST",
    "/api/v1/certificate/renew",
    "Renew with proof of the current key (PC); 200 for a retry of the same renewal",
    {201: IssuedResponse, 200: IssuedResponse},
    request=RenewRequest,
    session="pc",
    errors=(
        E.TERMS_VERSION_OUTDATED,
        *_CSR,
        E.CHALLENGE_INVALID,
        E.CHALLENGE_EXPIRED,
        E.CHALLENGE_USED,
        E.PROOF_INVALID,
        E.RENEWAL_NOT_OPEN,
    ),
)
REDOWNLOAD = Route(
    "redownload",
    "POST",
    "/api/v1/certificate/redownload",
    "Fetch the latest certificate again (PC, once opened)",
    {200: IssuedResponse},
    request=RedownloadRequest,
    session="pc",
    errors=(E.REDOWNLOAD_NOT_OPEN, E.REDOWNLOAD_EXPIRED, E.REDOWNLOAD_USED),
)
PLACE_ORDER = Route(
    "place_order",
    "POST",
    "/api/v1/orders",
    "Place a signed order",
    {201: OrderResponse},
    request=OrderRequest,
    session="any",
    errors=(
        E.ORDER_INVALID,
        E.ORDER_STALE,
        E.ORDER_REPLAYED,
        E.ORDER_WRONG_CUSTOMER,
        E.ORDER_WRONG_AUDIENCE,
        E.CERTIFICATE_NOT_VALID,
        E.CERTIFICATE_SUPERSEDED,
        E.CERTIFICATE_NOT_CURRENT,
        E.ORDER_SIGNATURE_INVALID,
    ),
)
OPEN_SLOT = Route(
    "open_slot",
    "POST",
    "/api/v1/relay/slots",
    "Open a relay slot (PC)",
    {201: OpenSlotResponse},
    request=OpenSlotRequest,
    session="pc",
    errors=(E.CERTIFICATE_NOT_CURRENT,),
)
UPLOAD_CIPHERTEXT = Route(
    "upload_ciphertext",
    "PUT",
    "/api/v1/relay/slots/{slot_id}/ciphertext",
    "Upload the sealed PFX once (PC)",
    {204: None},
    request=UploadRequest,
    session="pc",
    errors=(
        E.SLOT_NOT_FOUND,
        E.CIPHERTEXT_INVALID,
        E.SLOT_TOO_LARGE,
        *_SLOT_ENDED,
        E.SLOT_ALREADY_UPLOADED,
    ),
)
SLOT_EVENTS = Route(
    "slot_events",
    "GET",
    "/api/v1/relay/slots/{slot_id}/events",
    "Long-poll the slot's state (PC)",
    {200: SlotStateResponse},
    query=SlotEventsQuery,
    session="pc",
    errors=(E.SLOT_NOT_FOUND,),
)
CLAIM_SLOT = Route(
    "claim_slot",
    "POST",
    "/api/v1/relay/slots/{slot_id}/claim",
    "Claim the slot once (phone; no body)",
    {200: ClaimResponse},
    session="mobile",
    errors=(E.SLOT_NOT_FOUND, E.SLOT_WRONG_CUSTOMER, *_SLOT_ENDED, E.SLOT_NOT_READY),
)
CANCEL_SLOT = Route(
    "cancel_slot",
    "DELETE",
    "/api/v1/relay/slots/{slot_id}",
    "Cancel the slot (PC; no body)",
    {204: None},
    session="pc",
    errors=(E.SLOT_NOT_FOUND,),
)

ROUTES: tuple[Route, ...] = (
    HEALTHZ, READYZ, METRICS, OPENAPI, PAIR_PAGE, POLICY, INFO, CA_CHAIN, CRL, LOGIN, LOGOUT,
    STATUS, ENROLLMENT_CHECK, APPLY, RENEWAL_CHALLENGE, RENEW, REDOWNLOAD,
    PLACE_ORDER, OPEN_SLOT, UPLOAD_CIPHERTEXT, SLOT_EVENTS, CLAIM_SLOT, CANCEL_SLOT,
)  # fmt: skip

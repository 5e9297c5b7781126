"""The HTTP edge: ``create_app(host)`` builds the Starlette app; routes stay thin.

The routes are those of the table in ``sync_client.wire.routes``: each handler is bound to its
route by name, parses its body with the route's request model (``bodies``) and answers with a
response model (``answers``), so the server says exactly what ``/openapi.json`` documents.
Every handler is ``async`` and runs the service function (database, signing, KDFs) in the
thread pool, so nothing slow runs on the event loop; only short SQLite reads run in place (see
``read``), and on SQLite the writing routes run on the database's writer thread (``write``).
Every refusal goes through one handler and leaves as ``{"error": code, "message": ...}``.
Around it all, ``observe.RequestObserver`` gives each request an id, a JSON access line and a
latency sample; ``/metrics`` serves this app's registry, ``/readyz`` says whether to send it work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from sync_client.codes import ErrorCode
from sync_client.wire import routes
from sync_client.wire.base import WireRequest, WireResponse
from sync_client.wire.enrollment import (
    ApplyRequest,
    EnrollmentCheckRequest,
    EnrollmentCheckResponse,
)
from sync_client.wire.info import CaChainResponse, HealthResponse, ReadyResponse
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
from sync_client.wire.sessions import LoginRequest
from sync_server import (
    application,
    certificate_views,
    customers,
    enrollment,
    health,
    housekeeping,
    orders,
    redownloads,
    relay,
    renewal,
)
from sync_server.answers import (
    info_answer,
    issued_answer,
    issued_body,
    login_answer,
    policy_answer,
    status_body,
)
from sync_server.bodies import bearer_token, parse_body, parse_query, path_slot_id
from sync_server.crl import CrlCache
from sync_server.customers import Principal
from sync_server.error_handlers import EXCEPTION_HANDLERS
from sync_server.errors import ServiceError
from sync_server.host import Host
from sync_server.metrics import Metrics
from sync_server.observe import RequestObserver
from sync_server.openapi import openapi_document
from sync_server.relay_events import SlotNotifier, wait_for_change

log = logging.getLogger("sync_server")
T = TypeVar("T")
M = TypeVar("M", bound=WireRequest)
Handler = Callable[[Request], Awaitable[Response]]

PRUNE_INTERVAL_SECONDS = 60.0


def answer(
    model: WireResponse, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer, serialised by its response model."""
    return Response(
        model.to_json_bytes(), status_code=status, headers=headers, media_type="application/json"
    )


# Starlette tries the routes one by one, matching each path pattern in turn, so the calls
# clients make most often come first (the status is every client command's first call; the
# pairing and issuing calls follow). No two routes' paths and methods overlap
# (``tests/server/test_fast_paths.py``), so the order changes which route answers nothing.
BUSIEST_FIRST = (
    "status",
    "slot_events",
    "claim_slot",
    "upload_ciphertext",
    "open_slot",
    "apply",
    "renew",
    "renewal_challenge",
    "place_order",
    "login",
)


def routing_order() -> list[routes.Route]:
    """The route table with ``BUSIEST_FIRST`` in front, the others in the table's order."""
    rank = {name: i for i, name in enumerate(BUSIEST_FIRST)}
    return sorted(routes.ROUTES, key=lambda route: rank.get(route.name, len(rank)))


def create_app(host: Host) -> Starlette:
    settings = host.settings
    notifier = SlotNotifier()
    metrics = Metrics(host)
    host.db.on_commit.append(metrics.count_events)
    host.db.on_error.append(metrics.count_database_error)
    crl_cache = CrlCache(on_sign=metrics.crl_signatures.inc)

    async def read(fn: Callable[..., T], *args: Any) -> T:
        """Run a short read. On SQLite (an indexed lookup in a local WAL file, which never
        waits for writers) it runs right here: handing it to a worker thread and back costs
        more than the read and halved the status endpoint's throughput. On PostgreSQL a read
        crosses the network, so it goes to the thread pool like everything else."""
        if host.db.is_sqlite:
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    async def write(fn: Callable[..., T], *args: Any) -> T:
        """Run a service call that writes. On SQLite it runs on the database's one writer
        thread, batched with the writes queued beside it into one commit (one fsync), and
        returns once that commit is on disk (``sync_server.group_commit``). On PostgreSQL it
        runs in the thread pool, one transaction of its own."""
        writer = host.db.writer
        if writer is not None:
            return await writer.run(fn, *args)
        return await run_in_threadpool(fn, *args)

    async def principal(request: Request, route: routes.Route) -> Principal:
        """The caller, of the device kind ``route`` needs (``wrong_device_kind`` otherwise)."""
        who = await read(customers.authenticate, host, bearer_token(request))
        kind = route.session
        if kind in ("pc", "mobile") and who.device_kind != kind:
            raise ServiceError(
                ErrorCode.WRONG_DEVICE_KIND,
                f"This call needs a {kind} session, not a {who.device_kind} one.",
            )
        return who

    async def body(request: Request, route: routes.Route, model: type[M]) -> M:
        """The body parsed by the route's request model (``model`` must be that model)."""
        assert route.request is model, (route.name, model)
        limit = settings.max_body_bytes
        if route is routes.UPLOAD_CIPHERTEXT:  # base64 grows 4/3; leave room for the JSON
            limit = settings.relay_max_ciphertext_bytes * 4 // 3 + 1024
        return await parse_body(request, model, limit)

    async def healthz(request: Request) -> Response:
        await run_in_threadpool(health.ping, host)
        return answer(HealthResponse(status="ok"))

    async def readyz(request: Request) -> Response:
        checks = await run_in_threadpool(health.readiness, host)
        if any(verdict != "ok" for verdict in checks.values()):
            raise ServiceError(
                ErrorCode.NOT_READY, "This instance should not get requests now.", **checks
            )
        return answer(ReadyResponse(status="ready", **checks))

    async def metrics_page(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    openapi_body = json.dumps(openapi_document(), separators=(",", ":")).encode()

    async def openapi(request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def policy(request: Request) -> Response:
        return answer(policy_answer(host))

    # Constant for the life of the process: encoded once.
    info_body = info_answer(settings.info).to_json_bytes()

    async def info(request: Request) -> Response:
        return Response(info_body, media_type="application/json")

    async def ca_chain(request: Request) -> Response:
        return answer(CaChainResponse(chain_pem=host.ca.chain_pem))

    async def crl(request: Request) -> Response:
        signed = await run_in_threadpool(crl_cache.current, host)
        return Response(signed.der, media_type="application/pkix-crl")

    async def login(request: Request) -> Response:
        sent = await body(request, routes.LOGIN, LoginRequest)
        new = await run_in_threadpool(
            lambda: customers.login(
                host,
                customer_id=sent.customer_id,
                password=sent.password,
                device_kind=sent.device_kind,
                source=request.client.host if request.client else None,
            )
        )
        status = await run_in_threadpool(certificate_views.get_status, host, new.customer_id)
        return answer(login_answer(new, status), 201)

    async def logout(request: Request) -> Response:
        await write(customers.logout, host, bearer_token(request))
        return Response(status_code=204)

    async def status(request: Request) -> Response:
        token = bearer_token(request)
        result = await read(certificate_views.status_for_token, host, token)
        return Response(status_body(host, result), media_type="application/json")

    async def enrollment_check(request: Request) -> Response:
        who = await principal(request, routes.ENROLLMENT_CHECK)
        sent = await body(request, routes.ENROLLMENT_CHECK, EnrollmentCheckRequest)
        expires_at = await write(
            lambda: enrollment.check_enrollment_code(
                host, who, enrollment_code=sent.enrollment_code
            )
        )
        return answer(EnrollmentCheckResponse(valid=True, expires_at=expires_at))

    async def apply(request: Request) -> Response:
        who = await principal(request, routes.APPLY)
        sent = await body(request, routes.APPLY, ApplyRequest)
        cert = await write(
            lambda: application.apply(
                host,
                who,
                enrollment_code=sent.enrollment_code,
                terms_accepted=sent.terms_accepted,
                csr_pem=sent.csr_pem,
                terms_version=sent.terms_version,
            )
        )
        return Response(issued_body(host, cert), 201, media_type="application/json")

    async def renewal_challenge(request: Request) -> Response:
        who = await principal(request, routes.RENEWAL_CHALLENGE)
        challenge = await write(renewal.create_renewal_challenge, host, who)
        reply = RenewalChallengeResponse(
            challenge_id=challenge.id, nonce=challenge.nonce_b64, expires_at=challenge.expires_at
        )
        return answer(reply, 201)

    async def renew(request: Request) -> Response:
        who = await principal(request, routes.RENEW)
        sent = await body(request, routes.RENEW, RenewRequest)
        cert, created = await write(
            lambda: renewal.renew(
                host,
                who,
                challenge_id=sent.challenge_id,
                csr_pem=sent.csr_pem,
                signature=sent.signature,
                terms_version=sent.terms_version,
            )
        )
        return answer(issued_answer(host, cert), 201 if created else 200)

    async def redownload(request: Request) -> Response:
        who = await principal(request, routes.REDOWNLOAD)
        await body(request, routes.REDOWNLOAD, RedownloadRequest)
        cert = await run_in_threadpool(redownloads.redownload, host, who)
        return answer(issued_answer(host, cert))

    async def place_order(request: Request) -> Response:
        who = await principal(request, routes.PLACE_ORDER)
        sent = await body(request, routes.PLACE_ORDER, OrderRequest)
        row = await write(
            lambda: orders.place_order(
                host,
                who,
                order=sent.order,
                signature=sent.signature,
                serial=sent.serial,
                customer_id=sent.customer_id,
                audience=sent.audience,
            )
        )
        reply = OrderResponse(
            order_id=row.id, accepted_at=row.accepted_at, serial=row.certificate_serial
        )
        return answer(reply, 201)

    # -- relay --------------------------------------------------------------------------

    async def open_slot(request: Request) -> Response:
        who = await principal(request, routes.OPEN_SLOT)
        sent = await body(request, routes.OPEN_SLOT, OpenSlotRequest)
        view = await write(
            lambda: relay.open_slot(host, who, certificate_fingerprint=sent.certificate_fingerprint)
        )
        return answer(OpenSlotResponse(slot_id=view.slot_id, expires_at=view.expires_at), 201)

    async def upload_ciphertext(request: Request) -> Response:
        who = await principal(request, routes.UPLOAD_CIPHERTEXT)
        sent = await body(request, routes.UPLOAD_CIPHERTEXT, UploadRequest)
        slot_id = path_slot_id(request)
        await write(relay.upload_ciphertext, host, who, slot_id, sent.ciphertext)
        return Response(status_code=204)

    async def slot_events(request: Request) -> Response:
        who = await principal(request, routes.SLOT_EVENTS)
        query = parse_query(request, SlotEventsQuery)
        slot_id = path_slot_id(request)
        view = await wait_for_change(
            host, notifier, who, slot_id, after=query.after, wait=query.wait, read=read, write=write
        )
        # The model checks that the state is one of the four (the table's column is text).
        state: Any = view.state
        reply = SlotStateResponse(slot_id=view.slot_id, state=state, expires_at=view.expires_at)
        return answer(reply)

    async def claim_slot(request: Request) -> Response:
        who = await principal(request, routes.CLAIM_SLOT)
        slot_id = path_slot_id(request)
        try:
            claimed = await write(relay.claim_slot, host, who, slot_id)
        finally:
            notifier.notify(slot_id)
        reply = ClaimResponse(
            slot_id=slot_id,
            customer_id=who.customer_id,
            certificate_fingerprint=claimed.certificate_fingerprint,
            ciphertext=claimed.ciphertext,
        )
        return answer(reply)

    async def cancel_slot(request: Request) -> Response:
        who = await principal(request, routes.CANCEL_SLOT)
        slot_id = path_slot_id(request)
        await write(relay.cancel_slot, host, who, slot_id)
        notifier.notify(slot_id)
        return Response(status_code=204)

    async def pair_page(request: Request) -> Response:
        # Where a phone's camera app lands when it opens the QR link: the key stays in the
        # fragment, which the server never sees, but a script on this page could read it
        # (location.hash). So the page is static HTML and its headers forbid every script,
        # and anything else loaded or framed; no Referer leaves it.
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>CertSync pairing</title>"
            "<p>Open this QR code with the CertSync trading app to receive your certificate.</p>",
            headers=relay.PAIR_PAGE_HEADERS,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def prune_forever() -> None:
            while True:
                await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
                try:
                    await run_in_threadpool(lambda: housekeeping.prune(host, now=host.now()))
                except Exception:
                    log.exception("pruning failed")

        loop = asyncio.get_running_loop()
        task = asyncio.create_task(prune_forever())
        stop_listening = host.db.listen(
            relay.NOTIFY_CHANNEL,
            lambda slot_id: loop.call_soon_threadsafe(notifier.notify, slot_id),
        )
        try:
            yield
        finally:
            stop_listening()
            task.cancel()

    handlers: dict[str, Handler] = {
        "healthz": healthz,
        "readyz": readyz,
        "metrics": metrics_page,
        "openapi": openapi,
        "pair_page": pair_page,
        "policy": policy,
        "info": info,
        "ca_chain": ca_chain,
        "crl": crl,
        "login": login,
        "logout": logout,
        "status": status,
        "enrollment_check": enrollment_check,
        "apply": apply,
        "renewal_challenge": renewal_challenge,
        "renew": renew,
        "redownload": redownload,
        "place_order": place_order,
        "open_slot": open_slot,
        "upload_ciphertext": upload_ciphertext,
        "slot_events": slot_events,
        "claim_slot": claim_slot,
        "cancel_slot": cancel_slot,
    }
    assert set(handlers) == {route.name for route in routes.ROUTES}
    app = Starlette(
        routes=[Route(r.path, handlers[r.name], methods=[r.method]) for r in routing_order()],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=lifespan,
        middleware=[Middleware(RequestObserver, metrics=metrics)],
    )
    app.state.host = host
    app.state.metrics = metrics
    return app

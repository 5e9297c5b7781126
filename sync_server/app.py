"""The HTTP edge: ``create_app(host)`` builds the Starlette app; routes stay thin.

Every handler is ``async`` and runs the service function (database, signing, KDFs) in the
thread pool, so nothing slow runs on the event loop; only short SQLite reads run in place (see
``read``). Every refusal goes through one handler and leaves as ``{"error": code, "message": ...}``.
Around it all, ``observe.RequestObserver`` gives each request an id, a JSON access line and a
latency sample; ``/metrics`` serves this app's registry, ``/readyz`` says whether to send it work.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sync_client.protocol import StatusCode, format_serial, format_time
from sync_server import certificates, customers, orders, relay, schema
from sync_server.crl import CrlCache
from sync_server.customers import Principal
from sync_server.errors import (
    BadRequest,
    Forbidden,
    NotReady,
    PayloadTooLarge,
    ServiceError,
    Unauthenticated,
)
from sync_server.host import Host
from sync_server.metrics import Metrics
from sync_server.observe import RequestObserver
from sync_server.openapi import openapi_document
from sync_server.relay_events import SlotNotifier

log = logging.getLogger("sync_server")
T = TypeVar("T")

PRUNE_INTERVAL_SECONDS = 60.0
MAX_WAIT_SECONDS = 30.0


# -- request helpers --------------------------------------------------------------------


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object body, read with a size cap (``payload_too_large``, ``bad_request``)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("payload_too_large", f"The request body is over {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("payload_too_large", f"The request body is over {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("bad_request", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("bad_request", "The request body must be a JSON object.")
    return body


def field(body: dict[str, Any], name: str, kind: type = str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest("bad_request", f"The field {name!r} is missing or not a {kind.__name__}.")
    return value


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise Unauthenticated("unauthenticated", "Log in first: this call needs a session.")
    return token.strip()


# -- the app ----------------------------------------------------------------------------


def readiness(host: Host) -> dict[str, str]:
    """Each check's verdict, ``ok`` or why not: the database answers at this version's schema
    revision, and the CA is loaded and not expired."""
    checks = {"database": "ok", "ca": "ok"}
    try:
        with host.db.read() as session:
            revision = session.exec(  # type: ignore[call-overload]
                text("SELECT version_num FROM alembic_version")
            ).scalar()
        if revision != schema.head_revision():
            checks["database"] = f"schema revision {revision}, needs {schema.head_revision()}"
    except Exception as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if host.ca.cert.not_valid_after_utc <= host.now():
        checks["ca"] = "expired"
    return checks


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

    async def principal(request: Request, kind: str | None = None) -> Principal:
        who = await read(customers.authenticate, host, bearer_token(request))
        if kind is not None and who.device_kind != kind:
            raise Forbidden(
                "wrong_device_kind",
                f"This call needs a {kind} session, not a {who.device_kind} one.",
            )
        return who

    async def healthz(request: Request) -> Response:
        def ping() -> None:
            with host.db.read() as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]

        await run_in_threadpool(ping)
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await run_in_threadpool(readiness, host)
        if any(verdict != "ok" for verdict in checks.values()):
            raise NotReady("not_ready", "This instance should not get requests now.", **checks)
        return JSONResponse({"status": "ready", **checks})

    async def metrics_page(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def policy(request: Request) -> Response:
        return JSONResponse(
            {
                "pfx_password_min_length": settings.pfx_password_min_length,
                "renewal_window_days": settings.renewal_window // timedelta(days=1),
                "certificate_validity_days": settings.certificate_validity // timedelta(days=1),
                "relay_slot_lifetime_seconds": int(settings.relay_slot_lifetime.total_seconds()),
                "server_time": format_time(host.now()),
            }
        )

    # Constant for the life of the process: encoded once, as JSONResponse would encode it.
    info_body = json.dumps(
        settings.info.to_json(), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")

    async def info(request: Request) -> Response:
        return Response(info_body, media_type="application/json")

    async def ca_chain(request: Request) -> Response:
        return JSONResponse({"chain_pem": host.ca.chain_pem})

    async def crl(request: Request) -> Response:
        signed = await run_in_threadpool(crl_cache.current, host)
        return Response(signed.der, media_type="application/pkix-crl")

    async def login(request: Request) -> Response:
        body = await read_json(request, settings.max_body_bytes)
        new = await run_in_threadpool(
            lambda: customers.login(
                host,
                customer_id=field(body, "customer_id"),
                password=field(body, "password"),
                device_kind=field(body, "device_kind"),
            )
        )
        status = await run_in_threadpool(certificates.get_status, host, new.customer_id)
        reminder = None
        if status.code == StatusCode.EXPIRING and status.certificate is not None:
            reminder = {
                "not_after": format_time(status.certificate.not_after),
                "serial_display": format_serial(int(status.certificate.serial)),
            }
        return JSONResponse(
            {
                "token": new.token,
                "expires_at": format_time(new.expires_at),
                "customer_id": new.customer_id,
                "device_kind": new.device_kind,
                "renewal_reminder": reminder,
            },
            status_code=201,
        )

    async def logout(request: Request) -> Response:
        await run_in_threadpool(customers.logout, host, bearer_token(request))
        return Response(status_code=204)

    async def session_unlock_secret(request: Request) -> Response:
        secret = await run_in_threadpool(customers.unlock_secret, host, bearer_token(request))
        return JSONResponse(
            {"unlock_secret": base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii")},
            headers={"Cache-Control": "no-store"},  # a secret: no cache may keep a copy
        )

    async def status(request: Request) -> Response:
        token = bearer_token(request)
        result = await read(certificates.status_for_token, host, token)
        return JSONResponse(certificates.status_json(host, result))

    async def apply(request: Request) -> Response:
        who = await principal(request, "pc")
        body = await read_json(request, settings.max_body_bytes)
        cert = await run_in_threadpool(
            lambda: certificates.apply(
                host,
                who,
                enrollment_code=body.get("enrollment_code"),
                terms_accepted=body.get("terms_accepted"),
                csr_pem=body.get("csr_pem"),
                terms_version=body.get("terms_version"),
            )
        )
        return JSONResponse(certificates.issued_json(host, cert), status_code=201)

    async def enrollment_check(request: Request) -> Response:
        who = await principal(request, "pc")
        body = await read_json(request, settings.max_body_bytes)
        expires_at = await run_in_threadpool(
            lambda: certificates.check_enrollment_code(
                host, who, enrollment_code=body.get("enrollment_code")
            )
        )
        return JSONResponse({"valid": True, "expires_at": format_time(expires_at)})

    async def renewal_challenge(request: Request) -> Response:
        who = await principal(request, "pc")
        challenge = await run_in_threadpool(certificates.create_renewal_challenge, host, who)
        return JSONResponse(
            {
                "challenge_id": challenge.id,
                "nonce": challenge.nonce_b64,
                "expires_at": format_time(challenge.expires_at),
            },
            status_code=201,
        )

    async def renew(request: Request) -> Response:
        who = await principal(request, "pc")
        body = await read_json(request, settings.max_body_bytes)
        cert, created = await run_in_threadpool(
            lambda: certificates.renew(
                host,
                who,
                challenge_id=body.get("challenge_id"),
                csr_pem=body.get("csr_pem"),
                signature=body.get("signature"),
                terms_version=body.get("terms_version"),
            )
        )
        return JSONResponse(
            certificates.issued_json(host, cert), status_code=201 if created else 200
        )

    async def redownload(request: Request) -> Response:
        who = await principal(request, "pc")
        await read_json(request, settings.max_body_bytes)
        cert = await run_in_threadpool(certificates.redownload, host, who)
        return JSONResponse(certificates.issued_json(host, cert))

    async def place_order(request: Request) -> Response:
        who = await principal(request)
        body = await read_json(request, settings.max_body_bytes)
        row = await run_in_threadpool(
            lambda: orders.place_order(
                host, who, order=body.get("order"), signature=body.get("signature")
            )
        )
        return JSONResponse(
            {
                "order_id": row.id,
                "accepted_at": format_time(row.accepted_at),
                "serial": row.certificate_serial,
            },
            status_code=201,
        )

    # -- relay --------------------------------------------------------------------------

    async def open_slot(request: Request) -> Response:
        who = await principal(request, "pc")
        body = await read_json(request, settings.max_body_bytes)
        fingerprint = field(body, "certificate_fingerprint")
        view = await run_in_threadpool(
            lambda: relay.open_slot(host, who, certificate_fingerprint=fingerprint)
        )
        return JSONResponse(
            {"slot_id": view.slot_id, "expires_at": format_time(view.expires_at)}, status_code=201
        )

    async def upload(request: Request) -> Response:
        who = await principal(request, "pc")
        # base64 grows 4/3; leave room for the JSON around it.
        limit = settings.relay_max_ciphertext_bytes * 4 // 3 + 1024
        body = await read_json(request, limit)
        try:
            ciphertext = base64.b64decode(field(body, "ciphertext"), validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text that cannot be base64 at all
            raise BadRequest("bad_request", "ciphertext must be base64.") from None
        slot_id = request.path_params["slot_id"]
        await run_in_threadpool(relay.upload_ciphertext, host, who, slot_id, ciphertext)
        return Response(status_code=204)

    async def slot_events(request: Request) -> Response:
        who = await principal(request, "pc")
        slot_id = request.path_params["slot_id"]
        after = request.query_params.get("after", "")
        try:
            wait = min(max(float(request.query_params.get("wait", "25")), 0.0), MAX_WAIT_SECONDS)
            if math.isnan(wait):  # NaN slips through min/max and would make the loop spin
                raise ValueError(wait)
        except ValueError:
            raise BadRequest("bad_request", "wait must be a number of seconds.") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            # Subscribe before reading, so a claim between the read and the wait is not missed.
            with notifier.subscribe(slot_id) as woken:
                view = await run_in_threadpool(relay.slot_view, host, who, slot_id)
                remaining = deadline - loop.time()
                if view.state != after or remaining <= 0:
                    break
                until_expiry = (view.expires_at - host.now()).total_seconds()
                # Claims on other instances wake us through PostgreSQL NOTIFY; the periodic
                # re-read is the safety net if a notification is lost.
                timeout = max(0.0, min(remaining, until_expiry + 0.01, notifier.poll_seconds))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout)
        return JSONResponse(
            {
                "slot_id": view.slot_id,
                "state": view.state,
                "expires_at": format_time(view.expires_at),
            }
        )

    async def claim(request: Request) -> Response:
        who = await principal(request, "mobile")
        slot_id = request.path_params["slot_id"]
        try:
            ciphertext = await run_in_threadpool(relay.claim_slot, host, who, slot_id)
        finally:
            notifier.notify(slot_id)
        return JSONResponse(
            {
                "slot_id": slot_id,
                "customer_id": who.customer_id,
                "ciphertext": base64.b64encode(ciphertext).decode(),
            }
        )

    async def cancel(request: Request) -> Response:
        who = await principal(request, "pc")
        slot_id = request.path_params["slot_id"]
        await run_in_threadpool(relay.cancel_slot, host, who, slot_id)
        notifier.notify(slot_id)
        return Response(status_code=204)

    async def pair_page(request: Request) -> Response:
        # Where a phone's camera app lands when it opens the QR link: the key stays in the
        # fragment, so this page never sees it.
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>CertSync pairing</title>"
            "<p>Open this QR code with the CertSync trading app to receive your certificate.</p>"
        )

    # -- errors -------------------------------------------------------------------------

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return JSONResponse(exc.to_json(), status_code=exc.status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
        return JSONResponse(
            {"error": code, "message": f"{request.method} {request.url.path}: {exc.detail}."},
            status_code=exc.status_code,
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {
                "error": "internal_error",
                "message": "The server failed; the operators have the details.",
            },
            status_code=500,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def prune_forever() -> None:
            while True:
                await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
                try:
                    await run_in_threadpool(
                        lambda: relay.prune(host, now=host.now(), older_than=timedelta(hours=1))
                    )
                except Exception:
                    log.exception("relay pruning failed")

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

    handlers: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        ("GET", "/healthz", healthz),
        ("GET", "/readyz", readyz),
        ("GET", "/metrics", metrics_page),
        ("GET", "/openapi.json", openapi),
        ("GET", "/pair/{slot_id}", pair_page),
        ("GET", "/api/v1/policy", policy),
        ("GET", "/api/v1/info", info),
        ("GET", "/api/v1/ca", ca_chain),
        ("GET", "/api/v1/crl", crl),
        ("POST", "/api/v1/sessions", login),
        ("DELETE", "/api/v1/sessions/current", logout),
        ("GET", "/api/v1/sessions/current/unlock-secret", session_unlock_secret),
        ("GET", "/api/v1/certificate/status", status),
        ("POST", "/api/v1/enrollment/check", enrollment_check),
        ("POST", "/api/v1/certificate/apply", apply),
        ("POST", "/api/v1/certificate/renewal-challenge", renewal_challenge),
        ("POST", "/api/v1/certificate/renew", renew),
        ("POST", "/api/v1/certificate/redownload", redownload),
        ("POST", "/api/v1/orders", place_order),
        ("POST", "/api/v1/relay/slots", open_slot),
        ("PUT", "/api/v1/relay/slots/{slot_id}/ciphertext", upload),
        ("GET", "/api/v1/relay/slots/{slot_id}/events", slot_events),
        ("POST", "/api/v1/relay/slots/{slot_id}/claim", claim),
        ("DELETE", "/api/v1/relay/slots/{slot_id}", cancel),
    ]
    app = Starlette(
        routes=[Route(path, fn, methods=[method]) for method, path, fn in handlers],
        exception_handlers={
            ServiceError: on_service_error,
            HTTPException: on_http_error,
            Exception: on_unexpected,
        },
        lifespan=lifespan,
        middleware=[Middleware(RequestObserver, metrics=metrics)],
    )
    app.state.host = host
    app.state.metrics = metrics
    return app

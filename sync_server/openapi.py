"""The OpenAPI 3.1 summary served at ``/openapi.json``; docs/PROTOCOL.md is the full contract."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine code"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}
_CERT = {
    "type": "object",
    "properties": {
        k: {"type": "string"}
        for k in (
            "customer_id", "serial", "serial_display", "subject_cn", "not_before", "not_after",
            "fingerprint_sha256", "status", "cert_pem",
        )
    },
}  # fmt: skip
_ISSUED = {
    "type": "object",
    "properties": {
        "certificate": {"$ref": "#/components/schemas/Certificate"},
        "chain_pem": {"type": "string"},
    },
}


def _obj(**props: str) -> dict[str, Any]:
    types = {
        "s": {"type": "string"},
        "b": {"type": "boolean"},
        "i": {"type": "integer"},
        "o": {"type": "object"},
    }
    return {
        "type": "object",
        "required": list(props),
        "properties": {k: types[v] for k, v in props.items()},
    }


def _with_optional(schema: dict[str, Any], **props: str) -> dict[str, Any]:
    """``schema`` plus properties a client may leave out (``required`` stays as it was)."""
    extra = _obj(**props)["properties"]
    return {**schema, "properties": {**schema["properties"], **extra}}


# (method, path, summary, needs session, request schema, success status, response schema)
_ROUTES: list[tuple[str, str, str, bool, dict[str, Any] | None, int, dict[str, Any] | None]] = [
    ("get", "/healthz", "Liveness and database check", False, None, 200, _obj(status="s")),
    ("get", "/readyz", "Readiness: database at this version's schema, CA loaded (503 not_ready otherwise)", False, None, 200,
     _obj(status="s", database="s", ca="s")),
    ("get", "/metrics", "Prometheus metrics (text format; keep it off the public network)", False, None, 200, None),
    ("get", "/api/v1/policy", "Password policy, windows, lifetimes and the server clock", False, None, 200, None),
    ("get", "/api/v1/info", "The brokerage's name, service line and hours, and the terms with their version", False, None, 200,
     _obj(brokerage_name="o", service_phone="s", service_hours="o", terms="o")),
    ("get", "/api/v1/ca", "The CA chain (issuing CA first)", False, None, 200, _obj(chain_pem="s")),
    ("get", "/api/v1/crl", "The current CRL (DER)", False, None, 200, None),
    ("post", "/api/v1/sessions", "Log in (device_kind pc or mobile)", False,
     _obj(customer_id="s", password="s", device_kind="s"), 201,
     _obj(token="s", expires_at="s", customer_id="s", device_kind="s", renewal_reminder="o")),
    ("delete", "/api/v1/sessions/current", "Log out", True, None, 204, None),
    ("get", "/api/v1/sessions/current/unlock-secret",
     "The live session's unlock secret (security setting 2)", True, None, 200,
     _obj(unlock_secret="s")),
    ("get", "/api/v1/certificate/status", "Certificate status (0, 31, 40, 41, 42)", True, None, 200, None),
    ("post", "/api/v1/enrollment/check", "Check the enrollment slip's code without using it (PC)", True,
     _obj(enrollment_code="s"), 200, _obj(valid="b", expires_at="s")),
    ("post", "/api/v1/certificate/apply", "Apply with an enrollment code and a CSR (PC)", True,
     _with_optional(_obj(enrollment_code="s", terms_accepted="b", csr_pem="s"), terms_version="s"),
     201, _ISSUED),
    ("post", "/api/v1/certificate/renewal-challenge", "A fresh challenge for renewal (PC)", True,
     None, 201, _obj(challenge_id="s", nonce="s", expires_at="s")),
    ("post", "/api/v1/certificate/renew", "Renew with proof of the current key (PC)", True,
     _with_optional(_obj(challenge_id="s", csr_pem="s", signature="s"), terms_version="s"),
     201, _ISSUED),
    ("post", "/api/v1/certificate/redownload", "Fetch the latest certificate again (PC, once opened)",
     True, _obj(), 200, _ISSUED),
    ("post", "/api/v1/orders", "Place a signed order", True, _obj(order="o", signature="s", serial="s"),
     201, _obj(order_id="s", accepted_at="s", serial="s")),
    ("post", "/api/v1/relay/slots", "Open a relay slot (PC)", True, _obj(certificate_fingerprint="s"),
     201, _obj(slot_id="s", expires_at="s")),
    ("put", "/api/v1/relay/slots/{slot_id}/ciphertext", "Upload the sealed PFX once (PC)", True,
     _obj(ciphertext="s"), 204, None),
    ("get", "/api/v1/relay/slots/{slot_id}/events", "Long-poll the slot's state (PC)", True, None, 200,
     _obj(slot_id="s", state="s", expires_at="s")),
    ("post", "/api/v1/relay/slots/{slot_id}/claim", "Claim the slot once (phone)", True, None, 200,
     _obj(slot_id="s", customer_id="s", ciphertext="s")),
    ("delete", "/api/v1/relay/slots/{slot_id}", "Cancel the slot (PC)", True, None, 204, None),
]  # fmt: skip


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, auth, request, status, response in _ROUTES:
        op: dict[str, Any] = {
            "summary": summary,
            "responses": {
                str(status): {"description": "success"}
                | ({"content": {"application/json": {"schema": response}}} if response else {}),
                "default": {
                    "description": "refusal (see docs/PROTOCOL.md for the codes)",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
        if auth:
            op["security"] = [{"bearer": []}]
        if request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": request}},
            }
        if "{slot_id}" in path:
            op["parameters"] = [
                {"name": "slot_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ]
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "CertSync", "version": "1", "description": "See docs/PROTOCOL.md."},
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR, "Certificate": _CERT},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }

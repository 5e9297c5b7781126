"""Logs: one JSON object per line, in UTC, with the request they belong to.

    {"timestamp": "2026-12-02T08:29:38.120Z", "level": "info", "logger": "sync_server.access",
     "message": "GET /api/v1/certificate/status 200", "request_id": "5f0c…", "method": "GET",
     "route": "/api/v1/certificate/status", "status": 200, "duration_ms": 3.1}

Every line a request causes (its access line, an error while it ran) carries its
``request_id``, also sent back as ``X-Request-ID``. What goes in is chosen, never dumped: route
templates, not paths or query strings; no header, body or SQL parameter (the engines hide
them), so no password, code, token, key or ciphertext can reach a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "certsync_request_id", default=None
)

# The fields a record may carry (``log.info(..., extra={...})``) into its JSON object.
FIELDS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid is not None:
            line["request_id"] = rid
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "info") -> None:
    """Send every logger (ours, uvicorn's, the libraries') to stderr as JSON lines."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        from sync_server.errors import ConfigCode, ConfigError

        raise ConfigError(
            f"{level!r} is not a log level (debug, info, warning, error).", code=ConfigCode.CONFIG
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True

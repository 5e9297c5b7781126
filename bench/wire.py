"""A lean HTTP/1.1 keep-alive client for the load generator, on asyncio streams.

Why not ``httpx2.AsyncClient`` here: on this two-core machine it spends about 0.7 ms of CPU per
request, so a load generator built on it saturates its core at ~1,300 requests/s — below what
even the bare Starlette endpoint serves (~10,000/s). A benchmark whose client is the bottleneck
measures the client. This one writes the request bytes itself and reads a ``Content-Length``
framed answer (what Starlette sends), at a few tens of microseconds per request. It supports
just what the benchmarks send: ``GET``/``POST``/``PUT`` with an optional JSON body, on
``http://`` loopback URLs. Pairing and the race checks still use httpx2, as the SDK does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class WireError(Exception):
    """The connection failed or the answer was not an HTTP/1.1 response we can frame."""


@dataclass(frozen=True)
class Response:
    """A status code and a body: all the benchmarks look at."""

    method: str
    path: str
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Connection:
    """One keep-alive connection to one ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"content-length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
            status, length, close = _parse_head(head)
            content = await self._reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError) as exc:
            await self.close()
            raise WireError(f"{method} {path}: {type(exc).__name__}") from exc
        if close:
            await self.close()
        return Response(method, path, status, content)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status code, body length and whether the server will close, from a response head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise WireError(f"not an HTTP/1.1 status line: {status_line[:60]!r}")
    length, close = 0, False
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            raise WireError("chunked answers are not supported by the benchmark client")
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    return int(parts[1]), length, close


class Client:
    """One worker's client: a keep-alive connection per origin, opened on first use."""

    def __init__(self) -> None:
        self._connections: dict[tuple[str, int], _Connection] = {}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> Response:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise WireError(f"the benchmark client needs http://host:port URLs, not {url!r}")
        key = (parts.hostname, parts.port)
        connection = self._connections.get(key)
        if connection is None:
            connection = self._connections[key] = _Connection(*key)
        all_headers = dict(headers or {})
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["content-type"] = "application/json"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return await connection.request(method, path or "/", all_headers, body)

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", url, headers=headers)

    async def post(
        self, url: str, *, headers: dict[str, str] | None = None, json: Any = None
    ) -> Response:
        return await self.request("POST", url, headers=headers, json_body=json)

    async def aclose(self) -> None:
        for connection in self._connections.values():
            await connection.close()
        self._connections.clear()

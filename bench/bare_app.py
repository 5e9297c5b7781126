"""The yardstick for the status figure: one bare Starlette endpoint under the same uvicorn.

``python -m bench.bare_app --port P`` serves ``GET /`` → ``{"status": "ok"}`` with the uvicorn
settings ``sync-server serve`` uses (``loop="auto"``, ``http="auto"``: uvloop and httptools
when installed; no log configuration, no access log), so the two differ only in what the
application does per request.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    """The cheapest useful JSON answer Starlette can give."""
    return JSONResponse({"status": "ok"})


def create_bare_app() -> Starlette:
    return Starlette(routes=[Route("/", hello, methods=["GET"])])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        create_bare_app(),
        host=args.host,
        port=args.port,
        loop="auto",
        http="auto",
        log_config=None,
        access_log=False,
        log_level=args.log_level,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``ui``: the customer's page (``pc_client.web``) on 127.0.0.1, opened in the browser.

The socket is bound here, on the loopback address only, before uvicorn is started on it: the
port is known (``--port 0`` takes a free one) before the launch URL is printed, and nothing
but loopback can ever be bound (``bind_loopback`` refuses any other address). uvicorn runs
without its access log (a URL of the launch holds the one-time secret) and without proxy
headers (no peer may claim another address). It stops when the page's 關閉視窗 is pressed or
on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import webbrowser

import click

from pc_client.app import App, Result
from pc_client.errors import PcCode
from pc_client.messages import msg
from sync_client.errors import InvalidInput
from sync_client.i18n import current_language

LOOPBACK = "127.0.0.1"


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ``host`` must be a loopback address."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InvalidInput(msg("web.ui.not_loopback", host=host[:60]), code=PcCode.NOT_LOOPBACK)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidInput(
            msg("web.ui.cannot_bind", port=port, reason=exc.strerror or type(exc).__name__),
            code=PcCode.CANNOT_BIND,
        ) from None
    sock.listen(64)
    return sock


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@click.pass_obj
def ui(app: App, port: int, no_browser: bool) -> Result:
    """Open the certificate page in your browser: all ten functions, with the mouse.

    The page is served on 127.0.0.1 only, for this computer's browser, and works on the same
    certificate store, login session and server as the other commands. The address printed
    holds a one-time secret: it opens the page once. Close the page with 關閉視窗 (Close
    window), or press Ctrl-C here. No prompts.
    """
    import uvicorn

    from pc_client.web.app import create_web_app
    from pc_client.web.settings import WebSettings

    sock = bind_loopback(LOOPBACK, port)
    bound_port = int(sock.getsockname()[1])
    holder: list[uvicorn.Server] = []

    def stop() -> None:
        if holder:
            holder[0].should_exit = True

    settings = WebSettings(
        options=app.options, port=bound_port, language=current_language(), on_close=stop
    )
    web_app = create_web_app(settings)
    config = uvicorn.Config(
        web_app,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    holder.append(server)
    # The launch URL goes to stdout for a person; with --json, to stderr, so that stdout
    # stays the one JSON object printed at the end.
    click.echo(msg("web.ui.open", url=settings.launch_url), err=app.options.as_json)
    click.echo(msg("web.ui.stop"), err=app.options.as_json)
    if not no_browser:
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(settings.launch_url)
    interrupted = False
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sock.close()
    return Result(
        {"url": settings.base_url, "stopped_by": "interrupt" if interrupted else "close"},
        [msg("web.ui.stopped")],
    )

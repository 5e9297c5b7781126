"""The server's address, as both clients take it: ``check_server_url``.

``--server`` (``pc-client``, ``mobile-stub``), ``$MOBILE_STUB_SERVER`` and the URL a PC
remembered in ``settings.json`` all pass through here before anything connects. An address is
``https://host[:port][/path]``; ``http://`` only for this computer (``localhost``,
``127.0.0.0/8``, ``::1``) unless the customer says ``--insecure-http``: over plain HTTP the
login password and the session token would cross the network readable by anyone on the way.

A user name or password in the address is refused without repeating the address (it may hold a
secret); so are a query or a fragment (the protocol's paths have none), blanks and control
characters (a pasted line break), and a host or port that is not one. The answer is the address
as the clients use it: the scheme in lower case, no trailing ``/``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sync_client.errors import ClientCode, ServerUrlInvalid
from sync_client.i18n import msg

SCHEMES = ("https", "http")
# Longer than any real address; a longer one is shown cut to this length.
SHOWN_CHARS = 120


def check_server_url(text: str, *, insecure_http: bool) -> str:
    """``text`` as the clients use it, or ``ServerUrlInvalid`` saying what is wrong with it.

    ``insecure_http``: plain ``http://`` is allowed to other computers too (code
    ``insecure_http`` otherwise).
    """
    shown = text[:SHOWN_CHARS]
    if not text or not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        raise ServerUrlInvalid(msg("sdk.server_url.blank"))
    if "://" not in text:
        raise ServerUrlInvalid(msg("sdk.server_url.no_scheme", url=shown))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ServerUrlInvalid(msg("sdk.server_url.scheme", url=shown, scheme=parts.scheme[:20]))
    if "@" in parts.netloc:
        raise ServerUrlInvalid(msg("sdk.server_url.userinfo"))  # may hold a password: not shown
    if "?" in text or "#" in text:
        raise ServerUrlInvalid(msg("sdk.server_url.query", url=shown))
    host = parts.hostname or ""
    try:
        parts.port  # noqa: B018 (reading it checks it: a port that is not 1..65535 raises)
    except ValueError:
        raise ServerUrlInvalid(msg("sdk.server_url.port", url=shown)) from None
    if not host or parts.netloc.endswith(":") or not _plausible_host(host):
        raise ServerUrlInvalid(msg("sdk.server_url.no_host", url=shown))
    if scheme == "http" and not insecure_http and not is_loopback(host):
        raise ServerUrlInvalid(
            msg("sdk.server_url.insecure", url=shown), code=ClientCode.INSECURE_HTTP
        )
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host, without brackets) names this computer."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plausible_host(host: str) -> bool:
    """An IP address, or a DNS name made of letters, digits, ``-`` and ``.``."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        return all(label and all(c.isalnum() or c in "-_" for c in label) for label in labels)
    return True

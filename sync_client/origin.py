"""A server's origin: the one spelling of "which server" that both clients compare and bind.

    origin = <scheme>://<host>[:<port>]

``scheme`` is ``http`` or ``https``; ``host`` is lower case, an internationalised name in its
IDNA (``xn--``) form, an IPv6 address in brackets; ``port`` is written only when it is not the
scheme's default (80, 443). So ``HTTPS://Broker.Example:443/api`` and ``https://broker.example``
have the same origin, ``https://broker.example:8443`` does not. This is the browser's notion
of an origin (RFC 6454) and the one the relay envelope's associated data binds
(``sync_client.protocol.relay_aad``): a phone compares the QR code's origin with its session's
server by these strings, never by the text as written.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import idna

from sync_client.errors import InvalidInput
from sync_client.i18n import msg

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """The origin of ``url`` in its canonical spelling; ``InvalidInput`` if it has none.

    Refused: a scheme other than ``http``/``https``, no host, a port that is not a number from
    1 to 65535, a host that is not a valid IDNA name, and any white space or control character.
    The message does not quote ``url`` (a pasted link may carry a key in its fragment).
    """
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidInput(msg("sdk.origin.invalid"))
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number or too big
        raise InvalidInput(msg("sdk.origin.invalid")) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host or port == 0:
        raise InvalidInput(msg("sdk.origin.invalid"))
    if ":" in host:  # urlsplit only yields a colon for a bracketed IPv6 literal
        host = f"[{host}]"
    elif not host.isascii() or "xn--" in host:
        host = _idna_host(host)
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _idna_host(host: str) -> str:
    """The A-label form of a (possibly Unicode) host name, lower case (IDNA 2008, UTS 46)."""
    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        raise InvalidInput(msg("sdk.origin.invalid")) from None


def same_origin(url_a: str, url_b: str) -> bool:
    """Whether two URLs have the same origin; a URL without a valid origin matches nothing."""
    try:
        return origin_of(url_a) == origin_of(url_b)
    except InvalidInput:
        return False

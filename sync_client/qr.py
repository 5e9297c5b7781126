"""The pairing QR code: its payload, and its rendering as a terminal block or a PNG image.

Payload (docs/PROTOCOL.md, "The QR payload")::

    <server URL>/pair/<slot_id>#k=<relay key, base64url without padding, 43 chars>

The relay key sits in the URL fragment, which browsers and HTTP clients never send, so even a
phone that opens the link in a browser does not leak it. Everything that carries the payload
(the ``PairPayload`` repr, error messages, the PNG file's permissions) treats it as a secret.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
import qrcode.constants
import qrcode.exceptions
import zxingcpp
from PIL import Image, UnidentifiedImageError

from sync_client.errors import InvalidInput, QrPayloadError
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import msg

KEY_BYTES = 32
# The phone camera must resolve every module from a screen across a desk. Version 10 is 57
# modules wide; typical CertSync payloads need version 6 or less at level M.
MAX_QR_VERSION = 10
# ISO/IEC 18004 asks for 4 modules. In a terminal every module row costs half a line, and
# phone scanners read a screen well with 2, so the terminal uses 2 and the PNG the full 4.
TERMINAL_QUIET_ZONE = 2
PNG_QUIET_ZONE = 4
MAX_QR_IMAGE_BYTES = 10 * 1024 * 1024

QrMatrix = tuple[tuple[bool, ...], ...]
"""Rows of modules, ``True`` for dark, without any quiet zone."""

_SLOT_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_KEY_B64 = re.compile(r"[A-Za-z0-9_-]{43}")
_PAIR_SEGMENT = "/pair/"


def _key_to_b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def _check_server_url(server_url: str) -> None:
    if any(c.isspace() or not c.isprintable() for c in server_url):
        raise QrPayloadError(msg("sdk.qr.url_spaces"))
    try:
        parts = urlsplit(server_url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise QrPayloadError(msg("sdk.qr.url_invalid")) from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise QrPayloadError(msg("sdk.qr.url_scheme"))
    if parts.query or parts.fragment or "@" in parts.netloc:
        # A query or fragment would break the payload's own fragment; user info in a URL is
        # how credentials leak into logs.
        raise QrPayloadError(msg("sdk.qr.url_extras"))


@dataclass(frozen=True, repr=False)
class PairPayload:
    """What a pairing QR code says: where the slot is, which slot, and the relay key.

    Validated when built; the ``repr`` never shows the key.
    """

    server_url: str
    slot_id: str
    key: bytes

    def __post_init__(self) -> None:
        _check_server_url(self.server_url)
        if self.server_url.endswith("/"):
            raise QrPayloadError(msg("sdk.qr.url_slash"))
        if not _SLOT_ID.fullmatch(self.slot_id):
            raise QrPayloadError(msg("sdk.qr.slot_id"))
        if len(self.key) != KEY_BYTES:
            raise QrPayloadError(msg("sdk.qr.key_length", size=KEY_BYTES))

    def __repr__(self) -> str:
        return f"PairPayload(server_url={self.server_url!r}, slot_id={self.slot_id!r}, key=***)"

    @property
    def text(self) -> str:
        """The payload string that goes into the QR code."""
        return f"{self.server_url}{_PAIR_SEGMENT}{self.slot_id}#k={_key_to_b64url(self.key)}"


def build_pair_payload(server_url: str, slot_id: str, key: bytes) -> str:
    """The QR payload text for one relay slot; a trailing slash on ``server_url`` is dropped."""
    return PairPayload(server_url=server_url.rstrip("/"), slot_id=slot_id, key=key).text


def parse_pair_payload(text: str) -> PairPayload:
    """Read a scanned payload back; ``QrPayloadError`` for anything that is not a pairing link.

    Strict on purpose: a QR code is untrusted input, and a lenient parser would let a look-alike
    link through. No message quotes the text, since it may hold a key.
    """
    text = text.strip()
    url, hash_mark, fragment = text.partition("#")
    if not hash_mark:
        raise QrPayloadError(msg("sdk.qr.no_key"))
    server_url, pair_segment, slot_id = url.rpartition(_PAIR_SEGMENT)
    if not pair_segment:
        raise QrPayloadError(msg("sdk.qr.not_pairing"))
    if not fragment.startswith("k="):
        raise QrPayloadError(msg("sdk.qr.no_key"))
    key_b64 = fragment[2:]
    if not _KEY_B64.fullmatch(key_b64):
        raise QrPayloadError(msg("sdk.qr.key_length", size=KEY_BYTES))
    try:
        key = base64.urlsafe_b64decode(key_b64 + "=")
    except (binascii.Error, ValueError):
        raise QrPayloadError(msg("sdk.qr.key_b64")) from None
    # 43 characters hold 258 bits; the last 2 must be zero in the canonical form. Refusing the
    # other three spellings of a key keeps one payload per (url, slot, key).
    if _key_to_b64url(key) != key_b64:
        raise QrPayloadError(msg("sdk.qr.key_canonical"))
    return PairPayload(server_url=server_url, slot_id=slot_id, key=key)


def render_qr_matrix(payload: str) -> QrMatrix:
    """The QR modules for ``payload`` at error correction level M, smallest version that fits.

    Raises ``QrPayloadError`` if that would be above version ``MAX_QR_VERSION``: a bigger code
    is hard to scan off a screen, and it means the server URL is unreasonably long.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError):
        # qrcode 8.2 raises a bare ValueError ("Invalid version (was 41 ...)") instead of its
        # own DataOverflowError when the data exceeds version 40.
        raise QrPayloadError(msg("sdk.qr.too_long")) from None
    if code.version > MAX_QR_VERSION:
        raise QrPayloadError(
            msg("sdk.qr.version", version=code.version, max_version=MAX_QR_VERSION)
        )
    return tuple(tuple(bool(module) for module in row) for row in code.get_matrix())


def _with_quiet_zone(matrix: QrMatrix, width: int) -> QrMatrix:
    size = len(matrix) + 2 * width
    blank = (False,) * size
    side = (False,) * width
    return (blank,) * width + tuple(side + row + side for row in matrix) + (blank,) * width


# (top half inked, bottom half inked) -> character.
_HALF_BLOCKS = {
    (False, False): " ",
    (True, False): "\u2580",  # ▀
    (False, True): "\u2584",  # ▄
    (True, True): "\u2588",  # █
}


def render_qr_terminal(payload: str, *, light_ink: bool = True) -> str:
    """The QR code as text, two module rows per line, with a 2-module quiet zone.

    A terminal paints glyphs in its foreground colour on its background colour, and plain text
    cannot choose either. With ``light_ink=True`` (the default) the glyphs draw the *light*
    modules and the quiet zone, and the terminal's background shows through as the dark
    modules. On the dark theme that Windows consoles and most terminals ship with, the result
    is the standard dark-on-light code with a light border, which every phone scanner reads.
    On a light theme it would come out inverted (light on dark), which some scanners refuse;
    pass ``light_ink=False`` there so the glyphs draw the dark modules instead.
    No ANSI colour codes are used, so the text survives logs, pipes and ``more``.
    """
    matrix = _with_quiet_zone(render_qr_matrix(payload), TERMINAL_QUIET_ZONE)
    # Inked means "draw a glyph here"; which modules get ink depends on the terminal theme.
    ink = tuple(tuple(dark != light_ink for dark in row) for row in matrix)
    if len(ink) % 2:
        # The half row below the quiet zone is outside the code: leave it unpainted.
        ink += ((False,) * len(ink[0]),)
    lines = []
    for top, bottom in zip(ink[0::2], ink[1::2], strict=True):
        lines.append("".join(_HALF_BLOCKS[pair] for pair in zip(top, bottom, strict=True)))
    return "\n".join(lines) + "\n"


def render_qr_png_bytes(payload: str, *, scale: int = 8) -> bytes:
    """The QR code as a black-on-white PNG image, ``scale`` pixels per module.

    The image carries the relay key: whoever receives these bytes (a file, a web page served
    on 127.0.0.1 only) must treat them as a secret.
    """
    if scale < 1:
        raise InvalidInput(msg("sdk.qr.scale"))
    matrix = _with_quiet_zone(render_qr_matrix(payload), PNG_QUIET_ZONE)
    size = len(matrix)
    image = Image.new("L", (size, size), 255)
    image.putdata([0 if dark else 255 for row in matrix for dark in row])
    # NEAREST keeps modules as crisp squares; any smoothing would blur module edges.
    image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_qr_png(payload: str, path: Path, *, scale: int = 8) -> None:
    """Write the QR code as a black-on-white PNG, ``scale`` pixels per module, mode 0600.

    The image carries the relay key, so it is written like any other secret: atomically and
    readable by its owner only.
    """
    write_file_atomic(path, render_qr_png_bytes(payload, scale=scale), mode=0o600)


def decode_qr_png(path: Path) -> str:
    """The text of the QR code in an image file (PNG or any format Pillow reads).

    Uses zxing-cpp, a decoder independent of the ``qrcode`` encoder. Raises ``QrPayloadError``
    when the file is not an image or holds no QR code, ``InvalidInput`` when it cannot be read.
    """
    data = read_file_limited(path, MAX_QR_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            results = zxingcpp.read_barcodes(
                image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            )
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        raise QrPayloadError(msg("sdk.qr.not_image", path=path)) from None
    for result in results:
        if result.valid:
            return result.text
    raise QrPayloadError(msg("sdk.qr.not_found", path=path))

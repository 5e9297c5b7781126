"""The pairing payload and its QR renderings, decoded back by zxing-cpp (an independent decoder)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from sync_client.errors import InvalidInput, QrPayloadError
from sync_client.qr import (
    MAX_QR_VERSION,
    PairPayload,
    build_pair_payload,
    decode_qr_png,
    parse_pair_payload,
    render_qr_matrix,
    render_qr_png,
    render_qr_terminal,
)

KEY = bytes(range(32))
KEY_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
SLOT = "AAAAAAAAAAAAAAAAAAAAAA"
REALISTIC_URL = "https://certsync.example-brokerage.com.tw:8443"
# The example in docs/PROTOCOL.md, "The QR payload".
DOC_EXAMPLE = f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}"


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _version(matrix: tuple[tuple[bool, ...], ...]) -> int:
    return (len(matrix) - 17) // 4


def test_build_matches_the_protocol_example() -> None:
    assert build_pair_payload("http://127.0.0.1:8000", SLOT, KEY) == DOC_EXAMPLE


def test_build_drops_a_trailing_slash() -> None:
    assert build_pair_payload("http://127.0.0.1:8000/", SLOT, KEY) == DOC_EXAMPLE


@pytest.mark.parametrize(
    "server_url",
    ["http://127.0.0.1:8000", REALISTIC_URL, "https://example.com/certsync", "http://[::1]:8000"],
)
def test_round_trip(server_url: str) -> None:
    key = os.urandom(32)
    slot = "Zz09_-" * 3 + "abcd"
    parsed = parse_pair_payload(build_pair_payload(server_url, slot, key))
    assert parsed == PairPayload(server_url=server_url, slot_id=slot, key=key)


def test_parse_tolerates_surrounding_whitespace() -> None:
    assert parse_pair_payload(f"  {DOC_EXAMPLE}\n").key == KEY


def test_repr_hides_the_key() -> None:
    text = repr(parse_pair_payload(DOC_EXAMPLE))
    assert SLOT in text
    for secret in (KEY_B64, KEY.hex(), repr(KEY)):
        assert secret not in text


@pytest.mark.parametrize(
    "text",
    [
        "",
        f"ftp://127.0.0.1/pair/{SLOT}#k={KEY_B64}",
        f"127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}",
        f"http:///pair/{SLOT}#k={KEY_B64}",
        f"http://127.0.0.1:8000/slot/{SLOT}#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT[:-1]}#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT}A#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT[:-1]}+#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT}?x=1#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT}/#k={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT}",
        f"http://127.0.0.1:8000/pair/{SLOT}#",
        f"http://127.0.0.1:8000/pair/{SLOT}#key={KEY_B64}",
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64[:-1]}",
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}A",
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}=",
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64[:-1]}+",
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64[:-1]}9",  # non-zero padding bits
        f"http://127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}&x=1",
        f"http://127.0.0.1:8000?a=b/pair/{SLOT}#k={KEY_B64}",
        f"http://user:pw@127.0.0.1:8000/pair/{SLOT}#k={KEY_B64}",
        f"http://127.0.0.1:8000//pair/{SLOT}#k={KEY_B64}",
        f"http://[::1/pair/{SLOT}#k={KEY_B64}",
        f"http://exa mple.com/pair/{SLOT}#k={KEY_B64}",
        f"http://example.com\x00/pair/{SLOT}#k={KEY_B64}",
    ],
)
def test_malformed_payloads_are_refused_without_quoting_the_key(text: str) -> None:
    with pytest.raises(QrPayloadError) as caught:
        parse_pair_payload(text)
    assert caught.value.code == "qr_payload_invalid"
    for shown in (str(caught.value), repr(caught.value)):
        assert KEY_B64[:20] not in shown
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    ("server_url", "slot", "key"),
    [
        ("ws://127.0.0.1", SLOT, KEY),
        ("http://127.0.0.1", SLOT[:-1], KEY),
        ("http://127.0.0.1", SLOT, KEY[:-1]),
    ],
)
def test_build_refuses_bad_parts(server_url: str, slot: str, key: bytes) -> None:
    with pytest.raises(QrPayloadError):
        build_pair_payload(server_url, slot, key)


def test_realistic_url_fits_version_10() -> None:
    matrix = render_qr_matrix(build_pair_payload(REALISTIC_URL, SLOT, KEY))
    assert len(matrix) == len(matrix[0])
    assert 1 <= _version(matrix) <= MAX_QR_VERSION == 10


def test_protocol_example_fits_version_6() -> None:
    assert _version(render_qr_matrix(DOC_EXAMPLE)) <= 6


def test_too_long_payload_is_refused() -> None:
    long_url = "https://" + "a" * 250 + ".example.com"
    with pytest.raises(QrPayloadError):
        render_qr_matrix(build_pair_payload(long_url, SLOT, KEY))
    with pytest.raises(QrPayloadError):
        render_qr_matrix("x" * 5000)  # beyond even version 40


def test_png_decodes_back_to_the_payload(tmp_path: Path) -> None:
    payload = build_pair_payload(REALISTIC_URL, SLOT, os.urandom(32))
    path = tmp_path / "pair.png"
    render_qr_png(payload, path)
    assert decode_qr_png(path) == payload
    # And once more with zxing-cpp called directly, strict about polarity.
    with Image.open(path) as image:
        assert image.format == "PNG"
        modules = len(render_qr_matrix(payload)) + 8  # 4-module quiet zone each side
        assert image.size == (modules * 8, modules * 8)
        results = zxingcpp.read_barcodes(image, try_invert=False)
    assert [result.text for result in results] == [payload]


def test_png_is_private_even_with_an_open_umask(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "pair.png"
    render_qr_png(DOC_EXAMPLE, path, scale=2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert decode_qr_png(path) == DOC_EXAMPLE


def test_png_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        render_qr_png(DOC_EXAMPLE, tmp_path / "x.png", scale=0)
    assert not (tmp_path / "x.png").exists()


def test_decode_blank_image_and_non_image(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    with pytest.raises(QrPayloadError):
        decode_qr_png(blank)
    text = tmp_path / "not.png"
    text.write_text("hello")
    with pytest.raises(QrPayloadError):
        decode_qr_png(text)
    with pytest.raises(InvalidInput):
        decode_qr_png(tmp_path / "missing.png")


# What each half-block character inks: (top, bottom).
_INKED = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}


def _terminal_image(text: str, *, ink_is_light: bool) -> Image.Image:
    """Paint the terminal text as a screen would: each half block one module, 4 px a module."""
    grid: list[list[bool]] = []
    for line in text.splitlines():
        grid.append([_INKED[c][0] for c in line])
        grid.append([_INKED[c][1] for c in line])
    ink, paper = (255, 0) if ink_is_light else (0, 255)
    margin = 6  # terminal background all around the rendering
    width, height = len(grid[0]) + 2 * margin, len(grid) + 2 * margin
    image = Image.new("L", (width, height), paper)
    for y, row in enumerate(grid):
        for x, inked in enumerate(row):
            if inked:
                image.putpixel((x + margin, y + margin), ink)
    return image.resize((width * 4, height * 4), Image.Resampling.NEAREST)


def test_terminal_uses_only_half_blocks_and_has_a_quiet_zone() -> None:
    payload = build_pair_payload(REALISTIC_URL, SLOT, KEY)
    text = render_qr_terminal(payload)
    assert text.strip()
    assert set(text) <= {"▀", "▄", "█", " ", "\n"}
    lines = text.splitlines()
    size = len(render_qr_matrix(payload)) + 4
    assert all(len(line) == size for line in lines)
    assert len(lines) == (size + 1) // 2
    # Light ink by default: the quiet zone is drawn, two full module rows on top.
    assert lines[0] == "█" * size


def test_terminal_default_scans_on_a_dark_theme() -> None:
    payload = build_pair_payload(REALISTIC_URL, SLOT, KEY)
    image = _terminal_image(render_qr_terminal(payload), ink_is_light=True)
    assert [r.text for r in zxingcpp.read_barcodes(image, try_invert=False)] == [payload]


def test_terminal_light_theme_variant_scans_on_a_light_theme() -> None:
    payload = build_pair_payload(REALISTIC_URL, SLOT, KEY)
    text = render_qr_terminal(payload, light_ink=False)
    assert set(text) <= {"▀", "▄", "█", " ", "\n"}
    image = _terminal_image(text, ink_is_light=False)
    assert [r.text for r in zxingcpp.read_barcodes(image, try_invert=False)] == [payload]


def test_terminal_polarity_matters() -> None:
    # Negative control: the default rendering on a light theme is an inverted code, which a
    # decoder that does not try inversion (as some phone apps do not) cannot read.
    payload = build_pair_payload(REALISTIC_URL, SLOT, KEY)
    image = _terminal_image(render_qr_terminal(payload), ink_is_light=False)
    assert zxingcpp.read_barcodes(image, try_invert=False) == []


@pytest.mark.parametrize(
    ("colorfgbg", "light"),
    [
        ("0;15", True),
        ("15;0", False),
        ("0;7", True),
        ("7;8", False),
        ("12;default;0", False),
        ("", None),
        ("nonsense", None),
    ],
)
def test_the_terminal_theme_comes_from_colorfgbg(colorfgbg: str, light: bool | None) -> None:
    from sync_client.display import terminal_is_light

    assert terminal_is_light({"COLORFGBG": colorfgbg}) is light

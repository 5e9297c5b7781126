"""docs/PROTOCOL.md against the code it documents: codes, statuses, enums, the order bytes.

The document is what a phone team implements from, so its tables must say what the code does:
every ``ErrorCode`` member once, with its HTTP status (the customer-service codes in their own
table, the status in parentheses: never sent); the ``details`` table only names real codes;
the status codes, certificate states and relay states are exactly the code's; the example of
an order's signed bytes is what ``order_message`` makes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sync_client.codes import ErrorCode
from sync_client.protocol import StatusCode, order_message
from sync_client.refusals import OPERATOR_CODES

DOC = (Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text of the section whose heading is ``title`` (any level), up to the next heading
    of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", DOC, re.M)
    assert match, f"no section {title!r}"
    level = len(match[1])
    rest = DOC[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def _rows(text: str) -> list[list[str]]:
    """The cells of every table row in ``text`` (header and rule rows included)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def _first_table(text: str) -> list[list[str]]:
    """The body rows (no header, no rule) of the first table in ``text``."""
    start = text.index("\n|") + 1
    end = text.find("\n\n", start)
    return _rows(text[start : end if end != -1 else len(text)])[2:]


def _wire_table() -> dict[str, int]:
    return {
        m[1]: int(m[2])
        for m in re.finditer(r"^\| `([a-z_]+)` \| (\d{3}) \|", _section("Errors"), re.M)
    }


def _admin_table() -> dict[str, int]:
    text = _section("Customer-service codes (not on the wire; the admin CLI's)")
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| `([a-z_]+)` \| \((\d{3})\) \|", text, re.M)}


def test_every_error_code_is_listed_once_with_its_status() -> None:
    wire, admin = _wire_table(), _admin_table()
    assert not set(wire) & set(admin)
    listed = {**wire, **admin}
    assert listed == {code.value: code.status for code in ErrorCode}


def test_the_admin_table_holds_exactly_the_operators_codes() -> None:
    # The customer-service codes: refusals of `sync-server admin`, never answered by a route,
    # and without a sentence in the customers' catalogue.
    assert set(_admin_table()) == {code.value for code in OPERATOR_CODES}


def test_the_details_table_names_real_codes_and_their_rows_name_each_field() -> None:
    rows = _first_table(_section("`details` fields"))
    assert rows
    codes = {code.value for code in ErrorCode}
    tables = _first_table(_section("Errors")) + _first_table(
        _section("Customer-service codes (not on the wire; the admin CLI's)")
    )
    error_rows = {cells[0].strip("`"): " | ".join(cells[1:]) for cells in tables}
    for code_cell, field_cell, *_ in rows:
        code, field = code_cell.strip("`"), field_cell.strip("`")
        assert code in codes, code
        # The code's own row in the error table points at the field.
        assert f"`details.{field}`" in error_rows[code] or f"`{field}`" in error_rows[code], field


def test_status_codes_are_the_code_s() -> None:
    rows = _first_table(_section("Status codes"))
    table = {int(code.strip("`")): label.strip("`") for code, label, *_ in rows}
    assert table == {int(code): code.label for code in StatusCode}


def test_certificate_states_are_the_status_labels_of_a_certificate_and_superseded() -> None:
    text = _section("The certificate object")
    states = {
        cells[0].strip("`")
        for cells in _rows(text)
        if cells[0].startswith("`") and cells[0].count("`") == 2 and "," not in cells[0]
    }
    # A certificate exists, so it is never "none"; a replaced one is "superseded".
    expected = {code.label for code in StatusCode if code is not StatusCode.NONE} | {"superseded"}
    assert expected <= states
    assert {"open", "claimed"}.isdisjoint(states)


def test_relay_states_are_the_four_the_server_knows() -> None:
    rows = _rows(_section("The relay (function 5: upload to phone)"))
    states = {cells[0].strip("`") for cells in rows[2:] if len(cells) == 2}
    assert states == {"open", "claimed", "expired", "cancelled"}


def test_the_order_message_example_is_what_order_message_makes() -> None:
    block = re.search(r"```\n(certsync-order-v2\n(?:.+\n){3}\{.*\})\n```", _section("Orders"))
    assert block, "the example of the signed order bytes is missing"
    domain, audience, customer_id, serial, canonical = block[1].split("\n")
    order = json.loads(canonical)
    made = order_message(order, audience=audience, customer_id=customer_id, serial=serial)
    assert made == block[1].encode()
    assert domain == "certsync-order-v2"


def test_every_route_of_the_table_is_named_in_its_own_section_too() -> None:
    rows = _rows(_section("Routes"))[2:]
    routes = [cells[0].strip("`") for cells in rows]
    assert len(routes) == len(set(routes)) == 23  # the unlock-secret route is retired
    body = DOC.split("\n## Routes\n")[0]
    for route in routes:
        _method, path = route.split(" ")
        # Each route is described before the index: by its full form, or its path in the prose.
        assert f"`{route}" in body or path in body, route

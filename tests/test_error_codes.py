"""The error vocabularies: every code defined once, none spelled at a raise site.

- the server's codes (``sync_client.codes.ErrorCode``) and the clients' own (``ClientCode``,
  ``PcCode``, ``PhoneCode``) share no value: one code names one condition;
- every error class of the client packages names its code as a member of one of them, and
  lives in its package's ``errors.py``;
- no call passes ``code="…"`` and no comparison reads ``x.code == "…"`` in the client packages
  or the server's command lines (a code is found by grep for its member, once);
- across all four packages, each code of every vocabulary (``ConfigCode`` too) is spelled as a
  string exactly once: where its enum defines it;
- every ``ErrorCode`` a customer can meet has a sentence in both languages, and the catalogue's
  ``error.<code>`` ids are exactly those (docs/PROTOCOL.md's table: ``tests/test_catalogue.py``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import Counter
from enum import StrEnum
from pathlib import Path

import pytest

import mobile_stub
import pc_client
import sync_client
from mobile_stub.errors import PhoneCode
from pc_client.errors import PcCode
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, ClientError
from sync_client.i18n import Language, has_message
from sync_client.refusals import OPERATOR_CODES, SERVER_ERRORS

ROOT = Path(__file__).resolve().parent.parent
VOCABULARIES: tuple[type[StrEnum], ...] = (ErrorCode, ClientCode, PcCode, PhoneCode)
CLIENT_PACKAGES = (sync_client, pc_client, mobile_stub)
ERRORS_MODULES = {"sync_client.errors", "pc_client.errors", "mobile_stub.errors"}
SOURCES = [
    *(
        p
        for package in ("sync_client", "pc_client", "mobile_stub")
        for p in (ROOT / package).rglob("*.py")
    ),
    ROOT / "sync_server" / "cli.py",
    *(ROOT / "sync_server").glob("admin*.py"),
]


def _import_everything() -> None:
    """Import every module of the client packages, so that every error class exists."""
    for package in CLIENT_PACKAGES:
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if not info.name.endswith(".__main__"):  # running it would run the program
                importlib.import_module(info.name)


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    direct: list[type] = cls.__subclasses__()
    for sub in direct:
        found += [sub, *_subclasses(sub)]
    return found


def test_no_code_is_in_two_vocabularies() -> None:
    counts = Counter(member.value for vocabulary in VOCABULARIES for member in vocabulary)
    assert [code for code, n in counts.items() if n > 1] == []


def test_every_error_class_names_a_member_and_lives_in_an_errors_module() -> None:
    _import_everything()
    classes = [ClientError, *_subclasses(ClientError)]
    assert len(classes) > 20
    for cls in classes:
        if not cls.__module__.startswith(("sync_client", "pc_client", "mobile_stub")):
            continue  # a test's own
        assert cls.__module__ in ERRORS_MODULES, cls
        code = vars(cls).get("code")
        if code is not None:
            assert isinstance(code, VOCABULARIES), (cls, code)


def _literal_codes(path: Path) -> list[str]:
    """``code="…"`` keywords and ``….code == "…"`` / ``in ("…",)`` comparisons in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.keyword)
            and node.arg == "code"
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found.append(f"{path.name}:{node.value.lineno} code={node.value.value!r}")
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute):
            if node.left.attr != "code":
                continue
            for right in node.comparators:
                values = (
                    right.elts if isinstance(right, ast.Tuple | ast.Set | ast.List) else [right]
                )
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.append(f"{path.name}:{node.lineno} .code vs {value.value!r}")
    return found


def test_no_code_is_spelled_at_a_raise_site_or_a_comparison() -> None:
    assert len(SOURCES) > 50
    assert [hit for path in SOURCES for hit in _literal_codes(path)] == []


def test_the_catalogue_speaks_every_code_a_customer_meets() -> None:
    listed = {message_id for message_id in SERVER_ERRORS if not message_id.endswith(".details")}
    assert listed == {f"error.{code}" for code in ErrorCode if code not in OPERATOR_CODES}
    assert set(ErrorCode) >= OPERATOR_CODES


@pytest.mark.parametrize("language", ["en", "zh-TW"])
def test_every_error_code_has_a_sentence_in_both_languages(language: Language) -> None:
    missing = [
        code
        for code in ErrorCode
        if code not in OPERATOR_CODES and not has_message(f"error.{code}", language)
    ]
    assert missing == []


def test_grep_finds_each_code_spelled_once_where_it_is_defined() -> None:
    # Every code of every vocabulary, the server's configuration codes too, appears as a string
    # literal exactly once in the product's source: in its enum. Anywhere else it would be a
    # second definition that could drift (a metrics label map, a form's field map...).
    from sync_server.errors import ConfigCode

    vocabularies: tuple[type[StrEnum], ...] = (*VOCABULARIES, ConfigCode)
    codes: set[str] = {member.value for vocabulary in vocabularies for member in vocabulary}
    spelled: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for package in ("sync_server", "sync_client", "pc_client", "mobile_stub"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and (node.value in codes)
                ):
                    spelled[node.value] += 1
                    where.setdefault(node.value, []).append(f"{path.name}:{node.lineno}")
    assert {code: where[code] for code, n in spelled.items() if n != 1} == {}
    assert set(spelled) == codes

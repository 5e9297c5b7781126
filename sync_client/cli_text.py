"""The command lines' own words in the customer's language: ``--help`` texts and click's.

Messages are looked up by id (``sync_client.i18n.msg``); ``--help`` texts and click's own
phrases ("Usage:", "Show this message and exit.", "Missing argument") are looked up by their
English text instead — gettext's classic way — since click holds them as plain strings. They
live in the same catalogue: ``help_texts`` walks a command tree to list them for extraction
(``scripts/catalogue.py``), and ``localize`` puts a command's texts into the current language
just before click shows them. The English original stays on the object, so one process can
show help in both languages (the tests do).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

from sync_client.display import display_width, wrap
from sync_client.i18n import current_language, template

# click's own phrases that a customer can meet: help layout and usage errors.
CLICK_TEXTS: Final[tuple[str, ...]] = (
    "Usage:",
    "{heading}:",
    "Options",
    "Commands",
    "Show this message and exit.",
    "Error: {message}",
    "Try '{command} {option}' for help.",
    "Aborted!",
    "Error: invalid input",
    "Missing argument",
    "Missing option",
    "Missing parameter",
    "Missing command.",
    "Missing {param_type}",
    "Missing parameter: {param_name}",
    "Invalid value for {param_hint}: {message}",
    "Invalid value: {message}",
    "No such command {name!r}.",
    "No such option: {name}",
    "No such option {name!r}.",
    "Option {name!r} does not take a value.",
    "Option {name!r} requires an argument.",
    "Got unexpected extra argument ({args})",
    "Got unexpected extra arguments ({args})",
    "Did you mean {possibility}?",
    "(Did you mean one of: {possibilities}?)",
    "{value!r} is not {choice}.",
    "{value!r} is not one of {choices}.",
    "Choose from:\n\t{choices}",
    "{value!r} is not a valid {number_type}.",
    "{value} is not in the range {range}.",
    "default: {default}",
    "env var: {var}",
    "integer",
    "float",
    "file",
    "directory",
    "path",
    "{name} {filename!r} does not exist.",
    "{name} {filename!r} is a directory.",
    "{name} {filename!r} is a file.",
    "{name} {filename!r} is not readable.",
    "{name} {filename!r} is not writable.",
)

_HELP_OPTION_TEXT: Final = "Show this message and exit."  # click's, one of CLICK_TEXTS

_CLICK_MODULES = (
    click.core,
    click.decorators,
    click.exceptions,
    click.formatting,
    click.parser,
    click.termui,
    click.types,
)


def flag_value(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` among ``args`` (up to ``--``): a plain
    look before click parses, for what must be known first (the language of ``--help``)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


def tr(text: str) -> str:
    """``text`` (English, as written in the code) in the current language."""
    if not text or current_language() == "en":
        return text
    return template(text)


def _ntr(singular: str, plural: str, count: int) -> str:
    return tr(singular if count == 1 else plural)


def install_click_translations() -> None:
    """Let click say its own phrases through ``tr`` (it calls ``gettext`` by name), and lay
    out help in terminal cells (``HelpFormatter``)."""
    for module in _CLICK_MODULES:
        if hasattr(module, "_"):
            module._ = tr  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _ntr  # type: ignore[attr-defined]
    click.Context.formatter_class = HelpFormatter


def _is_wide(char: str) -> bool:
    return display_width(char) == 2


def _has_wide(text: str) -> bool:
    return any(_is_wide(char) for char in text)


def _join(lines: list[str]) -> str:
    """A paragraph's lines as one: with a space between Latin words, none between CJK ones."""
    out = ""
    for line in lines:
        if out and not (_is_wide(out[-1]) and _is_wide(line[0])):
            out += " "
        out += line
    return out


def wrap_cells(text: str, width: int, indent: str = "") -> str:
    """click's ``wrap_text(preserve_paragraphs=True)``, measured in terminal cells and breaking
    CJK text between characters: paragraphs are separated by an empty line, a paragraph whose
    first line is ``\\b`` is kept line for line, every other one is re-filled to ``width``."""
    paragraphs: list[tuple[int, bool, list[str]]] = []
    lines: list[str] = []
    first_indent = 0

    def flush() -> None:
        if lines:
            raw = lines[0].strip() == "\b"
            paragraphs.append((first_indent, raw, lines[1:] if raw else list(lines)))
            lines.clear()

    for line in text.expandtabs().splitlines():
        if not line.strip():
            flush()
            continue
        if not lines:
            first_indent = len(line) - len(line.lstrip())
        lines.append(line if lines and lines[0].strip() == "\b" else line.strip())
    flush()
    out: list[str] = []
    for extra, raw, body in paragraphs:
        prefix = indent + " " * extra
        if raw:
            out.append("\n".join(prefix + line.strip("\n") for line in body))
        else:
            filled = wrap(_join(body), max(10, width - display_width(prefix)))
            out.append("\n".join(prefix + line for line in filled))
    return "\n\n".join(out)


class HelpFormatter(click.HelpFormatter):
    """click's help layout, but text with CJK characters is measured in terminal cells and
    wrapped between characters (``textwrap`` only breaks at spaces, so Chinese help would run
    past the edge). Latin-only text is left to click, unchanged."""

    def write_heading(self, heading: str) -> None:
        text = tr("{heading}:").format(heading=heading)
        self.write(f"{'':>{self.current_indent}}{text}\n")

    def write_text(self, text: str) -> None:
        if not _has_wide(text):
            super().write_text(text)
            return
        self.write(wrap_cells(text, self.width, " " * self.current_indent))
        self.write("\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        if not any(_has_wide(second) for _, second in rows):
            super().write_dl(rows, col_max, col_spacing)
            return
        first_col = min(max(display_width(first) for first, _ in rows), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if display_width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = wrap_cells(second, text_width).splitlines() or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


_SOURCE = "_certsync_source_texts"


def localize(command: click.Command) -> click.Command:
    """Put ``command``'s help texts (and its options') into the current language."""
    for item in (command, *command.params):
        names = ("help", "short_help", "epilog") if item is command else ("help",)
        source: dict[str, str | None] = item.__dict__.setdefault(
            _SOURCE, {name: getattr(item, name, None) for name in names}
        )
        for name, text in source.items():
            setattr(item, name, tr(text) if text else text)
    # click makes ``--help`` once per command and keeps it, its help already translated in the
    # language of that moment: put it in the current one.
    help_option = getattr(command, "_help_option", None)
    if help_option is not None:
        help_option.help = tr(_HELP_OPTION_TEXT)
    return command


def help_texts(command: click.Command, *, ctx: click.Context | None = None) -> Iterator[str]:
    """Every help text of ``command`` and its subcommands, in English, for extraction."""
    for item in (command, *command.params):
        names = ("help", "short_help", "epilog") if item is command else ("help",)
        source = item.__dict__.get(_SOURCE, {})
        for name in names:
            text = source.get(name, getattr(item, name, None))
            if text:
                yield str(text)
    if isinstance(command, click.Group):
        context = ctx or click.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None:
                yield from help_texts(sub, ctx=context)

"""A form post: its text fields, and where a refusal is shown (beside a field and at the top).

GOV.UK's pattern: a refusal is shown in a summary at the top of the page, linked to the field
it is about, and again beside that field. Which field a refusal is about is read from its
stable ``code`` (``FIELD_OF_CODE`` in each page module); a refusal about no field is shown in
the summary only. The fields a person typed are never sent back: a password field is always
empty when the form is shown again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from pc_client.messages import msg
from pc_client.web.views import refusal_text
from sync_client.errors import ClientError

# A form of this page is a few short fields, or one .pfx file (at most 1 MiB) and a few fields.
MAX_FORM_BYTES = 2 * 1024 * 1024
MAX_FIELD_BYTES = 64 * 1024


class FormTooLarge(Exception):
    """The request body is larger than any form of this page."""


@dataclass(frozen=True)
class FieldError:
    """A refusal's sentence, and the field it is about (``None``: the form as a whole)."""

    field: str | None
    message: str


@dataclass(frozen=True)
class Errors:
    """The refusals to show on a form (usually one: operations stop at the first)."""

    items: tuple[FieldError, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.items)

    def on(self, name: str) -> str:
        """The sentence to show beside field ``name`` (empty when none)."""
        return " ".join(e.message for e in self.items if e.field == name)


def error_of(
    error: ClientError, fields: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> Errors:
    """``error`` as the form shows it: beside the field its code names in ``fields``;
    ``overrides`` maps a code to the page's own sentence id (``views.refusal_text``)."""
    return Errors((FieldError(fields.get(error.code), refusal_text(error, overrides)),))


def one_error(message: str, field_name: str | None = None) -> Errors:
    return Errors((FieldError(field_name, message),))


def required(field_name: str) -> Errors:
    """A field that must be filled in was left empty."""
    return one_error(msg("web.form.required"), field_name)


async def read_form(request: Request) -> FormData:
    """The posted form, refused (``FormTooLarge``) when the body says it is too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge
    return await request.form(max_files=1, max_fields=20, max_part_size=MAX_FIELD_BYTES)


def text(form: FormData, name: str) -> str:
    """A text field's value ('' when absent, or when a file was sent in its place)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def upload(form: FormData, name: str) -> UploadFile | None:
    """The file sent in field ``name``, if any."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None

"""Functions 6 and 7: 憑證匯出 to a folder chosen in the folder browser, 憑證匯入 by upload.

GET  /export[?folder=DIR]     the form: (1) folder (瀏覽), (2) <ID>.pfx, (3) PFX password
GET  /export/folders?path=P   the folder browser (places, subfolders, 確定)
POST /export                  transfer.export_certificate (overwrite only when ticked,
                              and the box is shown only after the refusal file_exists)
GET  /import                  the form: (1) the .pfx file, (2) PFX password, (3) setting
POST /import                  transfer.import_certificate from the uploaded bytes
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pc_client.errors import PcCode
from pc_client.messages import N_, msg
from pc_client.operations.allowed import Function
from pc_client.operations.status import advise
from pc_client.operations.transfer import export_certificate, import_certificate
from pc_client.store import MAX_PFX_BYTES
from pc_client.web.folders import list_folder, places
from pc_client.web.forms import Errors, error_of, one_error, read_form, required, text, upload
from pc_client.web.render import Web
from pc_client.web.views import (
    advice_texts,
    client_rows,
    host_rows,
    setting_choices,
    verdict_is_match,
    verdict_sentence,
)
from sync_client.errors import ClientCode, ClientError

EXPORT_FIELDS: dict[str, str] = {
    PcCode.NO_FOLDER: "folder",
    PcCode.CANNOT_WRITE: "folder",
    ClientCode.WRONG_PASSWORD: "password",
    PcCode.FILE_EXISTS: "overwrite",
}
IMPORT_FIELDS: dict[str, str] = {
    ClientCode.WRONG_PASSWORD: "password",
    ClientCode.PFX_INVALID: "pfx_file",
    ClientCode.PFX_WRONG_CUSTOMER: "pfx_file",
    ClientCode.PFX_FOREIGN_CA: "pfx_file",
    ClientCode.INVALID_INPUT: "security_setting",
    ClientCode.CREDENTIAL_STORE_UNAVAILABLE: "security_setting",
    PcCode.CERTIFICATE_MISMATCH: "force",
}

IMPORT_WORDS: dict[str, str] = {PcCode.CERTIFICATE_MISMATCH: N_("web.import.would_replace")}


def _folder(raw: str) -> Path | None:
    """A folder named by the form or the query: absolute, else none chosen."""
    raw = raw.strip()
    return Path(raw) if raw and Path(raw).is_absolute() else None


# -- function 6: export -------------------------------------------------------------------------


async def export_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.EXPORT)
        if refused is not None:
            return refused
        errors = Errors()
        offer_overwrite = False
        folder = _folder(request.query_params.get("folder", ""))
        if request.method == "POST":
            form = await read_form(request)
            folder = _folder(text(form, "folder"))
            if folder is None:
                errors = required("folder")
            else:
                try:
                    exported = await web.run(
                        export_certificate, ctx, directory=folder,
                        password=text(form, "password"), overwrite=text(form, "overwrite") == "yes",
                    )  # fmt: skip
                except ClientError as error:
                    errors = error_of(error, EXPORT_FIELDS)
                    offer_overwrite = error.code == PcCode.FILE_EXISTS
                else:
                    return await web.page(request, ctx, "export_done.html", exported=exported)
        return await web.page(
            request, ctx, "export.html", view=view, errors=errors, folder=folder,
            offer_overwrite=offer_overwrite, host_rows=host_rows(view),
            client_rows=client_rows(view), status_code=422 if errors else 200,
        )  # fmt: skip


async def export_folders(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.EXPORT)
        if refused is not None:
            return refused
        raw = request.query_params.get("path", "")
        errors = Errors()
        listing = None
        try:
            listing = list_folder(Path(raw) if raw else Path.home())
        except ValueError:
            errors = one_error(msg("web.folders.not_found", path=raw), "path")
        return await web.page(
            request, ctx, "folders.html", view=view, errors=errors, listing=listing,
            places=places(), status_code=404 if errors else 200,
        )  # fmt: skip


# -- function 7: import -------------------------------------------------------------------------


async def import_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        view, refused = await web.allowed(request, ctx, Function.IMPORT)
        if refused is not None:
            return refused
        errors = Errors()
        offer_force = False
        setting = view.settings.security_setting
        if request.method == "POST":
            form = await read_form(request)
            setting_raw = text(form, "security_setting")
            setting = int(setting_raw) if setting_raw in ("1", "2", "3") else setting
            sent = upload(form, "pfx_file")
            pfx_bytes = await sent.read(MAX_PFX_BYTES + 1) if sent is not None else b""
            await form.close()  # the upload's temporary file: the bytes are all we keep
            if not pfx_bytes:
                errors = required("pfx_file")
            elif len(pfx_bytes) > MAX_PFX_BYTES:
                errors = one_error(msg("web.import.too_large"), "pfx_file")
            else:
                try:
                    imported = await web.run(
                        import_certificate, ctx, pfx_bytes, password=text(form, "password"),
                        security_setting=setting_raw, force=text(form, "force") == "yes",
                    )  # fmt: skip
                except ClientError as error:
                    errors = error_of(error, IMPORT_FIELDS, IMPORT_WORDS)
                    offer_force = error.code == PcCode.CERTIFICATE_MISMATCH
                else:
                    after = imported.status
                    return await web.page(
                        request, ctx, "import_done.html", view=after, imported=imported,
                        host_rows=host_rows(after), client_rows=client_rows(after),
                        verdict=verdict_sentence(after), matched=verdict_is_match(after),
                        advice=advice_texts(advise(after)),
                    )  # fmt: skip
        return await web.page(
            request, ctx, "import.html", view=view, errors=errors, offer_force=offer_force,
            choices=setting_choices(setting), status_code=422 if errors else 200,
        )  # fmt: skip


ROUTES = [
    Route("/export", export_page, methods=["GET", "POST"]),
    Route("/export/folders", export_folders, methods=["GET"]),
    Route("/import", import_page, methods=["GET", "POST"]),
]

"""Function 6, export (``export_certificate``), and function 7, import (``import_certificate``).

Export copies the store's ``<ID>.pfx`` byte for byte into a folder, only when it is the host's
current valid certificate and the password opens it, and never replaces a different file there
unless ``overwrite``. Import opens any PKCS#12 file (ours, or one made by ``openssl pkcs12
-export``), from a path or from bytes (a page's upload), checks it (its CN is the customer's
ID and the host's CA issued it), and stores it re-encrypted in this program's profile under
the same password; then the match is checked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from pc_client import remember
from pc_client.app import Context
from pc_client.errors import CertificateMismatch, PcCode, PcRefusal
from pc_client.messages import msg
from pc_client.operations.allowed import Function, refuse_unusable
from pc_client.operations.password import choose_security_setting
from pc_client.operations.status import StatusView, gather_status
from pc_client.store import MAX_PFX_BYTES
from sync_client.chain import certificates_from_pem, issued_by_ca
from sync_client.errors import ClientCode, InvalidInput, PfxInvalid
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import os_reason
from sync_client.national_id import is_valid_national_id
from sync_client.pfx import load_pfx
from sync_client.security import SecuritySetting
from sync_client.verdict import check_match

# -- function 6: export -------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """The copy at ``path``; ``unchanged``: the same file was there already."""

    path: Path
    serial: int
    unchanged: bool


def check_export(ctx: Context, directory: Path) -> StatusView:
    """Refuse unless host and client match (``certificate_mismatch``) and ``directory`` is a
    folder (``no_folder``); the status view found is handed on as ``checked``."""
    view = gather_status(ctx)
    refusal = refuse_unusable(view.check, view.host.code, Function.EXPORT)
    if refusal is not None:
        raise refusal.error()
    if not directory.is_dir():
        raise InvalidInput(msg("export.no_folder", path=directory), code=PcCode.NO_FOLDER)
    return view


def export_certificate(
    ctx: Context,
    *,
    directory: Path,
    password: str,
    overwrite: bool = False,
    checked: StatusView | None = None,
) -> Exported:
    """Copy ``<ID>.pfx`` to ``directory/<ID>.pfx`` once ``password`` opens it.

    A different file already there is replaced only with ``overwrite`` (``file_exists``
    otherwise); the copy is read back to prove it. Refusals: ``WrongPfxPassword``,
    ``file_exists``, ``cannot_write``, ``export_failed``.
    """
    view = checked or check_export(ctx, directory)
    customer_id = view.customer_id
    data = ctx.store.read_pfx_bytes(customer_id)
    loaded = load_pfx(data, password)
    if loaded.fingerprint_sha256 != view.local.fingerprint_sha256:
        raise CertificateMismatch(msg("export.changed"))
    target = directory / f"{customer_id}.pfx"
    already = False
    if target.exists():
        existing = read_file_limited(target, MAX_PFX_BYTES) if target.is_file() else None
        already = existing == data
        if not already and not overwrite:
            raise PcRefusal(msg("export.exists", path=target), code=PcCode.FILE_EXISTS)
    if not already:
        try:
            write_file_atomic(target, data)
        except OSError as exc:
            raise InvalidInput(
                msg("store.cannot_write", path=target, reason=os_reason(exc)),
                code=PcCode.CANNOT_WRITE,
            ) from exc
    if read_file_limited(target, MAX_PFX_BYTES) != data:
        raise PcRefusal(msg("export.verify_failed", path=target), code=PcCode.EXPORT_FAILED)
    return Exported(target, loaded.serial, already)


# -- function 7: import -------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ImportFile:
    """The PKCS#12 bytes to import, and the file they came from (``None``: an upload)."""

    pfx_bytes: bytes
    path: Path | None = None

    def __repr__(self) -> str:
        return f"ImportFile(path={self.path!r}, size={len(self.pfx_bytes)})"


@dataclass(frozen=True)
class Imported:
    """The file imported from ``source``, the setting chosen, and the check made after."""

    source: Path | None
    path: Path  # the store's <ID>.pfx
    security_setting: SecuritySetting
    status: StatusView


def read_import_file(ctx: Context, path: Path) -> ImportFile:
    """``path`` itself, or ``path/<ID>.pfx`` when it is a folder (``InvalidInput`` when it
    cannot be read). Needs a login session: the ID is the customer's."""
    customer_id = ctx.session().customer_id
    source = path / f"{customer_id}.pfx" if path.is_dir() else path
    return ImportFile(read_file_limited(source, MAX_PFX_BYTES), source)


def import_certificate(
    ctx: Context,
    source: ImportFile | Path | bytes,
    *,
    password: str,
    security_setting: object,
    force: bool = False,
) -> Imported:
    """Import ``source`` (an ``ImportFile``, a path as ``read_import_file`` takes it, or the
    bytes of a PKCS#12 file) as ``<ID>.pfx`` under the same ``password``.

    Refusals, before anything is written: the security setting's, ``WrongPfxPassword``,
    ``PfxInvalid`` (not a customer ID; ``pfx_wrong_customer``; ``pfx_foreign_ca`` when the
    host's CA did not issue it, ``sync_client.chain``), and ``CertificateMismatch`` when a
    certificate that matches the host would be replaced by one that does not (unless
    ``force``). The chain is taken from the file, else from the host.
    """
    if isinstance(source, Path):
        source = read_import_file(ctx, source)
    elif isinstance(source, bytes):
        source = ImportFile(source)
    customer_id = ctx.session().customer_id
    setting = choose_security_setting(security_setting)
    loaded = load_pfx(source.pfx_bytes, password)
    if not is_valid_national_id(loaded.customer_id):
        raise PfxInvalid(msg("import.cn_invalid", cn=loaded.customer_id[:40]))
    if loaded.customer_id != customer_id:
        raise PfxInvalid(
            msg("pfx.wrong_customer", cn=loaded.customer_id, id=customer_id),
            code=ClientCode.PFX_WRONG_CUSTOMER,
        )
    # The brokerage's CA (GET /api/v1/ca) must have issued it: a self-made file with the
    # customer's CN is refused here, before anything is written.
    if not issued_by_ca(loaded.cert, certificates_from_pem(ctx.client().ca_chain_pem())):
        raise PfxInvalid(msg("import.foreign_ca"), code=ClientCode.PFX_FOREIGN_CA)
    before = gather_status(ctx)
    imported = check_match(
        host_code=before.host.code,
        host_fingerprint=before.host.certificate.fingerprint_sha256
        if before.host.certificate
        else None,
        local_fingerprint=loaded.fingerprint_sha256,
    )
    if before.check.usable and not imported.usable and not force:
        raise CertificateMismatch(msg("import.would_replace"))
    chain = list(loaded.chain) or x509.load_pem_x509_certificates(
        before.host.chain_pem.encode("ascii")
    )
    pfx_bytes = ctx.store.build_pfx(
        customer_id=customer_id, key=loaded.key, cert=loaded.cert, chain=chain, password=password
    )
    ctx.store.install_pfx(customer_id, pfx_bytes, password)
    ctx.store.update_settings(security_setting=int(setting))
    if setting is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    remember.replace_remembered(customer_id, password)
    return Imported(source.path, ctx.store.pfx_path(customer_id), setting, gather_status(ctx))

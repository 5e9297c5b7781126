"""``export DIR`` (function 6) and ``import PATH`` (function 7): backups and moving PCs.

Export copies the store's ``<ID>.pfx`` byte for byte, only when it is the host's current valid
certificate and the password opens it, and never overwrites a different file without
``--force``. Import opens any PKCS#12 file (ours, or one made by ``openssl pkcs12 -export``),
checks it, and stores it re-encrypted in this program's profile under the same password.
"""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from pc_client import remember
from pc_client.app import App, Result
from pc_client.commands.enroll import ask_security_setting, security_setting_option
from pc_client.commands.status import gather, status_label, verdict_lines, view_json
from pc_client.errors import CertificateMismatch, PcRefusal
from pc_client.messages import describe_setting, msg
from pc_client.store import MAX_PFX_BYTES
from sync_client.errors import InvalidInput, PfxInvalid
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.national_id import is_valid_national_id
from sync_client.pfx import load_pfx
from sync_client.security import SecuritySetting
from sync_client.verdict import check_match


@click.command(name="export")
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a different DIR/<ID>.pfx.")
@click.pass_obj
def export_cmd(app: App, directory: Path, force: bool) -> Result:
    """Copy the certificate to folder DIR (a backup, a USB stick) as DIR/<ID>.pfx.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. PFX password

    Only when this computer's certificate is the host's current valid one.
    """
    view = gather(app)
    customer_id = view.customer_id
    if not view.check.usable:
        reason = msg("verdict." + view.check.verdict.value)
        if view.check.verdict.value == "match":
            reason = msg("export.host_not_valid", label=status_label(view.host.code))
        raise CertificateMismatch(msg("export.refused", reason=reason))
    if not directory.is_dir():
        raise InvalidInput(msg("export.no_folder", path=directory), code="no_folder")
    password = app.prompter.secret(msg("prompt.pfx_password"))
    data = app.store.read_pfx_bytes(customer_id)
    loaded = load_pfx(data, password)
    if loaded.fingerprint_sha256 != view.local.fingerprint_sha256:
        raise CertificateMismatch(msg("export.changed"))
    target = directory / f"{customer_id}.pfx"
    already = False
    if target.exists():
        existing = read_file_limited(target, MAX_PFX_BYTES) if target.is_file() else None
        already = existing == data
        if not already and not force:
            raise PcRefusal(msg("export.exists", path=target), code="file_exists")
    if not already:
        try:
            write_file_atomic(target, data)
        except OSError as exc:
            raise InvalidInput(
                msg("store.cannot_write", path=target, reason=exc.strerror or exc),
                code="cannot_write",
            ) from exc
    if read_file_limited(target, MAX_PFX_BYTES) != data:
        raise PcRefusal(msg("export.verify_failed", path=target), code="export_failed")
    return Result(
        {"path": str(target), "serial": str(loaded.serial), "unchanged": already},
        [msg("export.done", path=target), msg("export.advice")],
    )


@click.command(name="import")
@click.argument("path", metavar="PATH", type=click.Path(path_type=Path))
@security_setting_option
@click.option(
    "--force",
    is_flag=True,
    help="Replace a certificate that matches the host with one that does not.",
)
@click.pass_obj
def import_cmd(app: App, path: Path, setting_option: int | None, force: bool) -> Result:
    """Import a certificate from PATH: a .pfx file, or the folder holding <ID>.pfx.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. PFX password
      2. security setting 1/2/3 [current]  (skipped with --security-setting N)

    The key must match the certificate and its CN must be your customer ID. Afterwards the
    match with the host is checked and shown.
    """
    session = app.session()
    customer_id = session.customer_id
    source = path / f"{customer_id}.pfx" if path.is_dir() else path
    data = read_file_limited(source, MAX_PFX_BYTES)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    setting = ask_security_setting(app, setting_option)
    loaded = load_pfx(data, password)
    if not is_valid_national_id(loaded.customer_id):
        raise PfxInvalid(msg("import.cn_invalid", cn=loaded.customer_id[:40]))
    if loaded.customer_id != customer_id:
        raise PfxInvalid(
            msg("pfx.wrong_customer", cn=loaded.customer_id, id=customer_id), code="wrong_customer"
        )
    before = gather(app)
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
    pfx_bytes = app.store.build_pfx(
        customer_id=customer_id, key=loaded.key, cert=loaded.cert, chain=chain, password=password
    )
    app.store.install_pfx(customer_id, pfx_bytes, password)
    app.store.update_settings(security_setting=int(setting))
    if setting is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    remember.replace_remembered(customer_id, password)
    after = gather(app)
    lines = [
        msg("import.done", path=app.store.pfx_path(customer_id)),
        msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting))),
        *verdict_lines(after),
    ]
    return Result({**view_json(after), "imported_from": str(source)}, lines)

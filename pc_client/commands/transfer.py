"""``export DIR`` (function 6) and ``import PATH`` (function 7): backups and moving PCs.

The work is ``pc_client.operations.transfer``'s; ``--force`` is its ``overwrite`` (export)
and ``force`` (import).
"""

from __future__ import annotations

from pathlib import Path

import click

from pc_client.app import App, Result
from pc_client.messages import describe_setting, msg
from pc_client.operations.transfer import (
    check_export,
    export_certificate,
    import_certificate,
    read_import_file,
)
from pc_client.questions import ask_security_setting, security_setting_option
from pc_client.status_report import status_json, verdict_lines


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
    checked = check_export(app, directory)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    exported = export_certificate(
        app, directory=directory, password=password, overwrite=force, checked=checked
    )
    return Result(
        {
            "path": str(exported.path),
            "serial": str(exported.serial),
            "unchanged": exported.unchanged,
        },
        [msg("export.done", path=exported.path), msg("export.advice")],
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
    source = read_import_file(app, path)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    setting = ask_security_setting(app, setting_option)
    imported = import_certificate(
        app, source, password=password, security_setting=setting, force=force
    )
    setting = imported.security_setting
    lines = [
        msg("import.done", path=imported.path),
        msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting))),
        *verdict_lines(imported.status),
    ]
    return Result({**status_json(imported.status), "imported_from": str(imported.source)}, lines)

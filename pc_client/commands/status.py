"""``status``: function 1, certificate query and check (憑證查詢暨憑證資料檢核).

The facts come from ``pc_client.operations.status``; the table and the sentences from
``pc_client.commands.answers`` (``import`` shows the same verdict).
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.commands.answers import status_json, status_lines
from pc_client.operations.status import gather_status


@click.command()
@click.pass_obj
def status(app: App) -> Result:
    """Show the host's certificate beside this computer's, and whether they match.

    The verdict is one of: the certificate matches; no certificate on this computer matches
    the host; certificate mismatch (with --json: match, no_local_match, mismatch).
    No prompts.
    """
    view = gather_status(app)
    return Result(status_json(view), status_lines(view))

"""``status``: function 1, certificate query and check (憑證查詢暨憑證資料檢核).

The facts come from ``pc_client.operations.status``; the table and the sentences from
``pc_client.status_report`` (``import`` shows the same verdict).
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.operations.status import AdviceKind, advise, gather_status
from pc_client.questions import service_line
from pc_client.status_report import status_json, status_lines


@click.command()
@click.pass_obj
def status(app: App) -> Result:
    """Show the host's certificate beside this computer's, and whether they match.

    The verdict is one of: the certificate matches; no certificate on this computer matches
    the host; certificate mismatch (with --json: match, no_local_match, mismatch).
    No prompts.
    """
    view = gather_status(app)
    lines = status_lines(view)
    if any(advice.kind is AdviceKind.PENDING_APPLY for advice in advise(view)):
        # Only customer service opens the re-download that finishes it: say how to call.
        lines.append(service_line(app))
    return Result(status_json(view), [line for line in lines if line])

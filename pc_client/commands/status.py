"""``status``: function 1, certificate query and check (憑證查詢暨憑證資料檢核).

The facts come from ``pc_client.operations.status``; the table and the sentences from
``pc_client.status_report`` (``import`` shows the same verdict).
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.operations.status import (
    AdviceKind,
    LocalStatusView,
    advise,
    gather_status_or_local,
)
from pc_client.questions import service_line
from pc_client.status_report import (
    local_status_json,
    local_status_lines,
    status_json,
    status_lines,
)
from sync_client.cli_runner import EXIT_ERROR


@click.command()
@click.pass_obj
def status(app: App) -> Result:
    """Show the host's certificate beside this computer's, and whether they match.

    The verdict is one of: the certificate matches; no certificate on this computer matches
    the host; certificate mismatch (with --json: match, no_local_match, mismatch).
    No prompts.

    \b
    When the server cannot be reached, this computer's certificate is still shown, the
    host's part is marked unknown, and the exit status is 1 [server_unreachable] (with
    --json: "host": null, "verdict": "unknown", and "error"/"message" saying why).
    """
    view = gather_status_or_local(app)
    if isinstance(view, LocalStatusView):
        return Result(local_status_json(view), local_status_lines(view), exit_code=EXIT_ERROR)
    lines = status_lines(view)
    if any(advice.kind is AdviceKind.PENDING_APPLY for advice in advise(view)):
        # Only customer service opens the re-download that finishes it: say how to call.
        lines.append(service_line(app))
    return Result(status_json(view), [line for line in lines if line])

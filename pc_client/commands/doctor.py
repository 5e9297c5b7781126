"""``doctor [--fix]``: function 10, the environment check (憑證作業環境檢查).

The checks and the fixes are ``pc_client.operations.doctor``'s; this command shows them as the
table of item, purpose, recommended, current value and action. ``--item NAME`` limits both to
some items ("fix one item or all").
"""

from __future__ import annotations

from typing import Any

import click

from pc_client.app import App, Result
from pc_client.errors import PcCode
from pc_client.messages import doctor_column, doctor_text, msg
from pc_client.operations.doctor import CHECKS, Finding, fix_items, run_checks
from pc_client.render import table

__all__ = ["CHECKS", "doctor"]


def _name(finding: Finding) -> str:
    return doctor_text(finding.item, "name")


def _purpose(finding: Finding) -> str:
    return doctor_text(finding.item, "purpose")


def _recommended(finding: Finding) -> str:
    return doctor_text(finding.item, "recommended")


def _action(finding: Finding) -> str:
    """What was done or what to do: nothing, fixed, fixable (with --fix), or why not."""
    if finding.fixed:
        return msg("doctor.action.fixed")
    if finding.ok:
        return msg("doctor.action.none")
    if finding.fixable:
        if finding.how:
            return msg("doctor.action.fixable_how", how=finding.how)
        return msg("doctor.action.fixable")
    return msg("doctor.action.cannot", why=finding.cannot_fix)


def _row_json(finding: Finding) -> dict[str, Any]:
    return {
        "item": finding.item,
        "name": _name(finding),
        "purpose": _purpose(finding),
        "recommended": _recommended(finding),
        "current": finding.current,
        "ok": finding.ok,
        "fixable": finding.fixable,
        "fixed": finding.fixed,
        "action": _action(finding),
    }


@click.command()
@click.option("--fix", is_flag=True, help="Fix what can be fixed, and say what cannot.")
@click.option(
    "--item",
    "items",
    multiple=True,
    type=click.Choice(list(CHECKS)),
    help="Check (and fix) only this item; repeatable.",
)
@click.pass_obj
def doctor(app: App, fix: bool, items: tuple[str, ...]) -> Result:
    """Check this computer for certificate work: a table of item, purpose, recommended,
    current value and action. Exit status 1 while a problem remains. No prompts."""
    selected = list(items) or list(CHECKS)
    findings = fix_items(app, selected) if fix else run_checks(app, selected)
    problems = [f for f in findings if not f.ok]
    rows = [[_name(f), _purpose(f), _recommended(f), f.current, _action(f)] for f in findings]
    header = [doctor_column(c) for c in ("item", "purpose", "recommended", "current", "action")]
    lines = table(header, rows)
    lines.append("")
    lines.append(
        msg("doctor.summary.ok")
        if not problems
        else msg("doctor.summary.problems", count=len(problems))
    )
    data: dict[str, Any] = {
        "ok": not problems,
        "problems": len(problems),
        "checks": [_row_json(f) for f in findings],
    }
    if problems:
        data["error"] = PcCode.DOCTOR_PROBLEMS
        data["message"] = msg("doctor.summary.problems", count=len(problems))
    return Result(data, lines, exit_code=1 if problems else 0)

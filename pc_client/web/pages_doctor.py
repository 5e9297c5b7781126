"""Function 10, 憑證作業環境檢查: the table, 變更設定 per row, 全部變更設定.

GET  /doctor        doctor.run_checks
POST /doctor/fix    item=NAME: doctor.fix_item;  item=all: doctor.fix_items
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pc_client.operations.doctor import CHECKS, fix_item, fix_items, run_checks
from pc_client.web.forms import read_form, text
from pc_client.web.pages_session import see_other
from pc_client.web.render import Web
from pc_client.web.views import doctor_rows

FIX_ALL = "all"


async def doctor_page(request: Request) -> Response:
    web = Web.of(request)
    with web.context() as ctx:
        findings = await web.run(run_checks, ctx)
        return await web.page(request, ctx, "doctor.html", rows=doctor_rows(findings), fixed=False)


async def doctor_fix(request: Request) -> Response:
    web = Web.of(request)
    item = text(await read_form(request), "item")
    if item != FIX_ALL and item not in CHECKS:
        return see_other("/doctor")
    with web.context() as ctx:
        if item == FIX_ALL:
            findings = await web.run(fix_items, ctx)
        else:
            fixed = await web.run(fix_item, ctx, item)
            findings = tuple(fixed if f.item == item else f for f in await web.run(run_checks, ctx))
        return await web.page(request, ctx, "doctor.html", rows=doctor_rows(findings), fixed=True)


ROUTES = [
    Route("/doctor", doctor_page, methods=["GET"]),
    Route("/doctor/fix", doctor_fix, methods=["POST"]),
]

"""The supervisors' numbers: the live queue and team, and reports with CSV export."""

from __future__ import annotations

from aiohttp import web

from handoff.analytics.presenters import (
    csv_filename,
    live_status_json,
    report_csv,
    report_json,
)
from handoff.api.validation import parse_no_query, parse_report_query
from handoff.api.views.common import current_supervisor
from handoff.api.views.pages import STATIC_DIR
from handoff.app_keys import ANALYTICS


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "supervisor.html")


async def live(request: web.Request) -> web.Response:
    await current_supervisor(request)
    parse_no_query(request.query)
    status = await request.app[ANALYTICS].live_status()
    return web.json_response(live_status_json(status))


async def report(request: web.Request) -> web.Response:
    await current_supervisor(request)
    query = parse_report_query(request.query, request.headers.get("Accept", ""))
    built = await request.app[ANALYTICS].report(query)
    if not query.as_csv:
        return web.json_response(report_json(built))
    return web.Response(
        text=report_csv(built, query.table),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{csv_filename(built, query.table)}"'
            )
        },
    )

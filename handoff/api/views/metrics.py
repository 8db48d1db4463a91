"""The supervisors' numbers: the live queue and team, and reports with CSV export."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from aiohttp import web

from handoff.analytics.live_status import live_status
from handoff.analytics.periods import parse_period
from handoff.analytics.presenters import (
    CsvTable,
    csv_filename,
    live_status_json,
    report_csv,
    report_json,
)
from handoff.analytics.report import build_report
from handoff.api.views.common import current_agent
from handoff.api.views.pages import STATIC_DIR
from handoff.app_keys import SESSIONS, SETTINGS
from handoff.errors import Forbidden, InvalidRequest
from handoff.storage.models import AgentRole

REPORT_PARAMETERS = frozenset({"from", "to", "bucket", "format", "table"})
FORMATS = frozenset({"json", "csv"})


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "supervisor.html")


async def require_supervisor(request: web.Request) -> None:
    agent = await current_agent(request)
    if agent.role is not AgentRole.SUPERVISOR:
        raise Forbidden("only supervisors may see the numbers")


async def live(request: web.Request) -> web.Response:
    await require_supervisor(request)
    if request.query:
        raise InvalidRequest("this resource takes no query parameters")
    status = await live_status(request.app[SESSIONS])
    return web.json_response(live_status_json(status))


async def report(request: web.Request) -> web.Response:
    await require_supervisor(request)
    query = request.query
    unknown = query.keys() - REPORT_PARAMETERS
    if unknown:
        raise InvalidRequest(
            f"unknown query parameter(s): {', '.join(sorted(unknown))}"
        )
    as_csv = _wants_csv(query, request.headers.get("Accept", ""))
    table = _csv_table(query.get("table"), as_csv)
    settings = request.app[SETTINGS]
    period = parse_period(
        query.get("from"),
        query.get("to"),
        query.get("bucket"),
        ZoneInfo(settings.time_zone),
    )
    built = await build_report(
        request.app[SESSIONS], period, settings.service_level_seconds
    )
    if not as_csv:
        return web.json_response(report_json(built))
    return web.Response(
        text=report_csv(built, table),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{csv_filename(built, table)}"'
            )
        },
    )


def _wants_csv(query: Mapping[str, str], accept: str) -> bool:
    requested = query.get("format")
    if requested is not None:
        if requested not in FORMATS:
            raise InvalidRequest("format must be json or csv")
        return requested == "csv"
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "text/csv" in media_types and "application/json" not in media_types


def _csv_table(raw: str | None, as_csv: bool) -> CsvTable:
    if raw is None:
        return CsvTable.BUCKETS
    if not as_csv:
        raise InvalidRequest("table applies to the CSV export only")
    try:
        return CsvTable(raw)
    except ValueError:
        valid = ", ".join(table.value for table in CsvTable)
        raise InvalidRequest(f"table must be one of: {valid}") from None

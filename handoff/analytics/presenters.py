"""JSON and CSV shapes of the supervisors' numbers (handoff/openapi.yaml)."""

from __future__ import annotations

import csv
import enum
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from handoff.analytics.live_status import LiveStatus
from handoff.analytics.report import CHANNEL_METRICS, METRICS, ChannelNumbers, Report
from handoff.api.presenters import timestamp
from handoff.vocabulary import DeliveryFailureReason, RefusalKind


class CsvTable(str, enum.Enum):
    BUCKETS = "buckets"
    REASONS = "reasons"
    SKILLS = "skills"
    AGENTS = "agents"
    RATINGS = "ratings"
    CHANNELS = "channels"


AGENT_COLUMNS = (
    "agent_id",
    "username",
    "display_name",
    "handoffs_resolved",
    "handoffs_held",
    "held_seconds",
    "handle_avg_seconds",
    "csat_count",
    "csat_average",
)


CHANNEL_COLUMNS = ("channel", *CHANNEL_METRICS, "delivery_failures")


def channel_json(numbers: ChannelNumbers) -> dict[str, Any]:
    failures = numbers.delivery_failures
    return {
        "channel": numbers.channel.value,
        **numbers.metrics,
        "delivery_failures": sum(failures.values()),
        "delivery_failures_by_reason": {
            reason.value: failures[reason.value] for reason in DeliveryFailureReason
        },
    }


RATING_COLUMNS = (
    "rated_at",
    "score",
    "comment",
    "handoff_id",
    "reason",
    "agent_id",
    "agent_display_name",
)
# The supervisor page shows the latest comments; the CSV holds every rating.
LATEST_COMMENTS = 50


def rating_rows(report: Report, *, local: bool = False) -> Iterator[dict[str, Any]]:
    """The period's ratings; ``local`` gives their times in the report's time
    zone, as in the CSV files, instead of the API's UTC."""
    zone = report.period.zone if local else None
    for rating in report.ratings:
        agent = report.agent_names.get(rating.agent_id or 0)
        rated_at = rating.created_at.astimezone(zone) if zone else rating.created_at
        yield {
            "rated_at": timestamp(rated_at),
            "score": rating.score,
            "comment": rating.comment,
            "handoff_id": rating.handoff_id,
            "reason": rating.reason,
            "agent_id": rating.agent_id,
            "agent_display_name": agent.display_name if agent else None,
        }


def report_json(report: Report) -> dict[str, Any]:
    period = report.period
    return {
        "from": period.first_day.isoformat(),
        "to": period.last_day.isoformat(),
        "bucket": period.bucket.value,
        "time_zone": period.zone.key,
        "service_level_seconds": report.service_level_seconds,
        "totals": report.totals,
        "buckets": [
            {
                "start": bucket.start.isoformat(),
                **bucket.metrics,
                "reasons": dict(bucket.reasons.most_common()),
                "skills": dict(bucket.skills.most_common()),
            }
            for bucket in report.buckets
        ],
        "reasons": [
            {"reason": reason, "handoffs": count}
            for reason, count in report.reasons.most_common()
        ],
        "skills": [
            {"skill": skill, "handoffs": count}
            for skill, count in report.skills.most_common()
        ],
        "agents": [
            {column: getattr(agent, column) for column in AGENT_COLUMNS}
            for agent in report.agents
        ],
        "refusals": {kind.value: report.refusals[kind.value] for kind in RefusalKind},
        "channels": [channel_json(numbers) for numbers in report.channels],
        "comments": list(
            itertools.islice(
                (row for row in rating_rows(report) if row["comment"]),
                LATEST_COMMENTS,
            )
        ),
    }


def report_csv(report: Report, table: CsvTable) -> str:
    """Every time in every table is ISO 8601 in the report's time zone, with its
    offset (``2026-11-23T00:00:00+09:00``), as the buckets are."""
    if table is CsvTable.BUCKETS:
        return _csv(
            ("bucket_start", *METRICS),
            (
                (bucket.start.isoformat(), *(bucket.metrics[name] for name in METRICS))
                for bucket in report.buckets
            ),
        )
    if table is CsvTable.REASONS or table is CsvTable.SKILLS:
        by_reason = table is CsvTable.REASONS
        return _csv(
            ("bucket_start", "reason" if by_reason else "skill", "handoffs"),
            (
                (bucket.start.isoformat(), key, count)
                for bucket in report.buckets
                for key, count in sorted(
                    (bucket.reasons if by_reason else bucket.skills).items()
                )
            ),
        )
    if table is CsvTable.CHANNELS:
        return _csv(
            CHANNEL_COLUMNS,
            (
                tuple(channel_json(numbers)[column] for column in CHANNEL_COLUMNS)
                for numbers in report.channels
            ),
        )
    if table is CsvTable.RATINGS:
        return _csv(
            RATING_COLUMNS,
            (
                tuple(row[column] for column in RATING_COLUMNS)
                for row in rating_rows(report, local=True)
            ),
        )
    return _csv(
        AGENT_COLUMNS,
        (
            tuple(getattr(agent, column) for column in AGENT_COLUMNS)
            for agent in report.agents
        ),
    )


def csv_filename(report: Report, table: CsvTable) -> str:
    period = report.period
    return (
        f"tandem-{table.value}-{period.bucket.value}-"
        f"{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    )


def live_status_json(status: LiveStatus) -> dict[str, Any]:
    return {
        "now": timestamp(status.now),
        "queue": {
            "queued": status.queued,
            "assigned": status.assigned,
            "oldest_queued_at": timestamp(status.oldest_queued_at),
            "longest_wait_seconds": (
                None
                if status.longest_wait_seconds is None
                else round(status.longest_wait_seconds, 1)
            ),
            "queued_by_skill": dict(status.queued_by_skill.most_common()),
        },
        "agents": [
            {
                "id": load.agent.id,
                "username": load.agent.username,
                "display_name": load.agent.display_name,
                "role": load.agent.role.value,
                "status": load.agent.status.value,
                "capacity": load.agent.capacity,
                "open_handoffs": load.open_handoffs,
            }
            for load in status.agents
        ],
        "dead_letters": status.dead_letters,
    }


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    # Excel opens UTF-8 CSV correctly only with a byte-order mark, and
    # supervisors' reasons and names may be Korean.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _cell(value) for value in row])
    return out.getvalue()


def _cell(value: Any) -> Any:
    # A cell starting with =, +, - or @ is a formula to spreadsheets; names
    # and reasons come from outside, so they must not run as one.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value

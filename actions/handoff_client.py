"""HTTP client for the handoff service's bot-facing API."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp

HANDOFFS_PATH = "/api/rasa/handoffs"
CSAT_PATH = "/api/rasa/csat"
REFUSALS_PATH = "/api/rasa/refusals"


class HandoffUnavailable(Exception):
    """The handoff service could not take the request."""


class HandoffLimited(HandoffUnavailable):
    """The handoff service refused the request: the customer reached a limit."""


@dataclass(frozen=True)
class QueuedHandoff:
    handoff_id: int
    status: str
    queue_position: int | None
    estimated_wait_seconds: int | None = None


class HandoffClient:
    def __init__(self, base_url: str, secret: str, timeout_seconds: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def request_handoff(self, context: dict[str, Any]) -> QueuedHandoff:
        body = await self._post(HANDOFFS_PATH, context)
        try:
            return QueuedHandoff(
                handoff_id=int(body["id"]),
                status=str(body["status"]),
                queue_position=body.get("queue_position"),
                estimated_wait_seconds=body.get("estimated_wait_seconds"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise HandoffUnavailable(f"unexpected answer: {body!r}") from error

    async def submit_rating(
        self, sender_id: str, score: int, handoff_id: int | None
    ) -> int:
        """Stores the score at once; returns the rating's id for its comment."""
        body = await self._post(
            CSAT_PATH,
            {"sender_id": sender_id, "score": score, "handoff_id": handoff_id},
        )
        try:
            return int(body["id"])
        except (KeyError, TypeError, ValueError) as error:
            raise HandoffUnavailable(f"unexpected answer: {body!r}") from error

    async def comment_on_rating(
        self, rating_id: int, sender_id: str, comment: str
    ) -> None:
        await self._post(
            f"{CSAT_PATH}/{rating_id}",
            {"sender_id": sender_id, "comment": comment},
            method="PATCH",
        )

    async def report_refusal(self, sender_id: str, kind: str) -> None:
        """Counts a request the bot refused in the supervisors' numbers."""
        await self._post(REFUSALS_PATH, {"sender_id": sender_id, "kind": kind})

    async def _post(
        self, path: str, payload: dict[str, Any], method: str = "POST"
    ) -> dict[str, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(
                    method, self._base_url + path, json=payload, headers=self._headers
                ) as response,
            ):
                if response.status not in (200, 201):
                    detail = (await response.text())[:300]
                    if response.status == HTTPStatus.TOO_MANY_REQUESTS:
                        raise HandoffLimited(detail)
                    raise HandoffUnavailable(f"HTTP {response.status}: {detail}")
                body = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise HandoffUnavailable(str(error) or type(error).__name__) from error
        if not isinstance(body, dict):
            raise HandoffUnavailable(f"unexpected answer: {body!r}")
        return body

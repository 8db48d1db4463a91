"""Telling the handoff service that a platform failed to deliver an agent's reply
after accepting it (Twilio's status callback, Kakao's event result).

``POST /api/rasa/deliveries`` with the service secret: the service marks the reply
failed, shows it in the console and counts it. A report that does not reach the
service is logged: the platform's callback is answered either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

from bot.channels.attachments import AttachmentSettings
from bot.channels.delivery import DeliveryFailed

logger = logging.getLogger(__name__)

REPORT_PATH = "/api/rasa/deliveries"
REPORT_SECONDS = 5.0
MAX_DETAIL = 500


class DeliveryReports:
    def __init__(
        self,
        settings: AttachmentSettings,
        session: Callable[[], aiohttp.ClientSession],
    ) -> None:
        self._url = settings.service_url + REPORT_PATH
        self._headers = {"Authorization": f"Bearer {settings.secret}"}
        self._session = session

    async def failed(self, message_id: int, failure: DeliveryFailed) -> bool:
        """True when the service recorded it (or knew it already)."""
        body = {
            "tandem_message_id": message_id,
            "status": "failed",
            "reason": failure.reason,
            "permanent": failure.permanent,
            "detail": failure.detail[:MAX_DETAIL],
        }
        try:
            async with self._session().post(
                self._url,
                json=body,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=REPORT_SECONDS),
            ) as answer:
                status = answer.status
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            logger.warning(
                "The failed delivery of reply %s was not reported: %s",
                message_id,
                type(error).__name__,
            )
            return False
        if status != 200:
            logger.warning(
                "The service answered %s to the failed delivery of reply %s",
                status,
                message_id,
            )
        return status == 200

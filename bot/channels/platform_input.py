"""What the Telegram and Twilio input channels share: the channels' state, the ledger
of webhook deliveries, the customers' message rate, the notice a customer gets when
their turn failed, one HTTP session to the platform and the attachment service, all
chosen from the environment when Rasa builds the channel from its credentials file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel

from bot.channels.attachments import (
    Attachment,
    AttachmentRefused,
    AttachmentService,
    AttachmentSettings,
    shared,
)
from bot.channels.channel_memory import channel_memory
from bot.channels.channel_state import ChannelState
from bot.channels.delivery import DeliveryFailed, PlatformSession
from bot.channels.delivery_ledger import DeliveryLedger, LocalLedger
from bot.channels.incoming import Incoming
from bot.channels.trouble_notices import TroubleNotices
from bot.message_rate import CustomerRate, MessageRate, slow_down_notice

logger = logging.getLogger(__name__)


class PlatformInput(InputChannel):
    """A messaging platform's webhook channel. A subclass names the platform
    (``PLATFORM``, for logs), reads its settings (``settings_from_environment``)
    and builds its API client from ``self._session``."""

    PLATFORM = ""

    @classmethod
    def settings_from_environment(cls, environment: Mapping[str, str]) -> Any:
        raise NotImplementedError

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Every setting comes from the environment; the credentials file only
        # names the channel (scripts/run_stack.py writes it when they are set).
        memory = channel_memory(os.environ)
        # A subclass is built from its settings and the state; this class's own
        # constructor is what the subclasses pass on.
        build: Callable[..., InputChannel] = cls
        return build(
            cls.settings_from_environment(os.environ),
            memory.state,
            ledger=memory.ledger,
            rate=memory.rate,
            attachments=AttachmentSettings.from_environment(os.environ),
        )

    def __init__(
        self,
        state: ChannelState,
        trouble: TroubleNotices,
        *,
        ledger: DeliveryLedger | None,
        rate: CustomerRate | None,
        clock: Callable[[], float] = time.time,
        attachments: AttachmentSettings | None,
    ) -> None:
        self._state = state
        self._ledger = ledger or LocalLedger()
        self.rate = rate or MessageRate.from_environment(os.environ)
        self.trouble = trouble
        self._clock = clock
        self._session = PlatformSession()
        self.attachments = (
            AttachmentService(attachments, self._session.get)
            if attachments is not None
            else None
        )

    async def close(self) -> None:
        await self._session.close()

    def get_output_channel(self) -> OutputChannel:
        raise NotImplementedError

    async def _within_rate(self, sender: str, language: str) -> bool:
        """False when the customer is over their rate: the message is acknowledged
        and dropped (before any file is fetched), and the customer told once, in
        ``language``, how long to wait."""
        verdict = await self.rate.check(sender)
        if verdict.allowed:
            return True
        logger.info("%s message over the customer's rate, not handled", self.PLATFORM)
        if verdict.tell:
            notice = slow_down_notice(language, verdict.wait_seconds)
            try:
                await self.get_output_channel().send_text_message(sender, notice)
            except DeliveryFailed as failure:
                logger.warning("The slow-down notice was not sent: %s", failure)
        return False

    async def _shared_files(
        self,
        sender_id: str,
        files: Sequence[dict[str, Any]],
        receive: Callable[[dict[str, Any]], Awaitable[Attachment]],
        tell: Callable[[str], Awaitable[None]],
    ) -> list[Incoming]:
        """Each of the customer's files, received (``receive``: fetched from the
        platform and stored by the service) and shared with the bot; a file that
        cannot be received is left out, and the customer told why (``tell``)."""
        messages = []
        for media in files:
            try:
                attachment = await receive(media)
            except AttachmentRefused as refused:
                logger.warning(
                    "A %s file was not received: %s", self.PLATFORM, refused.detail
                )
                await tell(refused.reason)
                continue
            share = shared(attachment)
            messages.append(Incoming(sender_id, share.text, share.metadata))
        return messages

"""What a messaging customer hears when the bot could not handle their message
(the conversations' database or the lock store down, the turn failing on the way):
that the assistant is having trouble, rather than nothing.

Telegram delivers an update again until it is answered 2xx, so the message is
handled once the assistant is back: its customer is told so, once per update
however often it comes again. Twilio does not send a message again: its customer is
asked to send it again, as on the web chat (bot/web_chat_turns.py). KakaoTalk
answers with its own notice in the skill response (bot/channels/kakao_skill.py).
"""

from __future__ import annotations

import logging

from rasa.core.channels.channel import OutputChannel

from bot.channels.delivery import DeliveryFailed
from bot.channels.redelivery import SeenUpdates
from bot.language_detection import ENGLISH, KOREAN
from bot.web_chat_turns import TROUBLE

logger = logging.getLogger(__name__)

SEND_AGAIN = TROUBLE
WILL_ANSWER = {
    KOREAN: "죄송합니다. 지금 상담 시스템에 일시적인 문제가 있어요. 보내 주신 메시지는 "
    "문제가 해결되는 대로 답변드릴게요.",
    ENGLISH: "Sorry, the assistant is having trouble right now. Your message will be "
    "answered as soon as it is back.",
}


class TroubleNotices:
    """Tells a customer once per delivery that their message was not handled."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        self._told: SeenUpdates[None] = SeenUpdates()

    async def tell(
        self, output: OutputChannel, sender_id: str, language: str, delivery_id: str
    ) -> bool:
        """Sends the notice unless this delivery was answered with it before; True
        when it went out. A notice that cannot be sent is logged, never raised: the
        webhook's own answer still has to go back."""
        if not self._told.first_time(delivery_id):
            return False
        text = self._texts[ENGLISH if language == ENGLISH else KOREAN]
        try:
            await output.send_text_message(sender_id, text)
        except DeliveryFailed as failure:
            logger.warning("The trouble notice was not sent: %s", failure)
            return False
        except Exception:
            logger.exception("The trouble notice was not sent")
            return False
        return True

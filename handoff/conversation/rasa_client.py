"""Calls from the service into the customer's Rasa conversation."""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from yarl import URL

from handoff.errors import ChannelDeliveryFailed, RasaUnavailable
from handoff.observability.logs import conversation, conversation_log_id
from handoff.vocabulary import Channel, DeliveryFailureReason

logger = logging.getLogger(__name__)

HANDOFF_CLOSED_INTENT = "EXTERNAL_handoff_closed"
HANDOFF_CANCELLED_INTENT = "EXTERNAL_handoff_cancelled"
RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
# The channels retry a platform for up to about ten seconds before they give up.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
# What Rasa answers when the customer's channel could not deliver a message: its
# 500 carries the channel's exception (bot/channels/delivery.py).
DELIVERY_FAILED = re.compile(
    r"tandem-delivery-failed:(?P<channel>[a-z]+):(?P<reason>[a-z_]+)"
    r":(?P<permanence>permanent|transient):"
)
# Characters a URL path segment holds as they are (RFC 3986 pchar, besides
# letters, digits and -._~), which quote() would otherwise encode.
SENDER_ID_SAFE = ":@!$&'()*+,;="
# Enough of Rasa's error answer to find the marker in.
ERROR_BODY_BYTES = 8192
# The readiness check asks Rasa whether it answers at all, and soon.
CHECK_TIMEOUT = aiohttp.ClientTimeout(total=2)


class RasaGateway(Protocol):
    async def append_bot_message(
        self,
        sender_id: str,
        text: str,
        message_id: int,
        agent_name: str,
        *,
        attachment: dict[str, Any] | None = None,
    ) -> None: ...

    async def resume_and_trigger(
        self,
        sender_id: str,
        intent: str = HANDOFF_CLOSED_INTENT,
        entities: dict[str, Any] | None = None,
    ) -> None: ...

    async def resume(self, sender_id: str) -> None: ...

    async def send_notice(
        self,
        sender_id: str,
        text: str,
        *,
        handoff_status: str | None = None,
        agent_name: str | None = None,
    ) -> None: ...

    async def check(self) -> None:
        """Raises ``RasaUnavailable`` unless Rasa answers now."""


class RasaHttpClient:
    """Rasa's HTTP API, reached with its ``--auth-token``.

    What it logs names the conversation by its log id, keyed with ``log_secret``
    (the service secret, which the bot uses for the same ids).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        log_secret: str = "",
    ):
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._log_secret = log_secret

    async def append_bot_message(
        self,
        sender_id: str,
        text: str,
        message_id: int,
        agent_name: str,
        *,
        attachment: dict[str, Any] | None = None,
    ) -> None:
        """``attachment``: the file the agent attached, as the customer's channel
        sends it (its ``url`` the customer's signed link)."""
        # output_channel=latest sends the text through the customer's own
        # channel, which works while the conversation is paused.
        metadata: dict[str, Any] = {
            "tandem_message_id": message_id,
            "agent": agent_name,
        }
        if attachment is not None:
            metadata["tandem_attachment"] = attachment
        await self._append_events(
            sender_id, {"event": "bot", "text": text, "metadata": metadata}
        )

    async def send_notice(
        self,
        sender_id: str,
        text: str,
        *,
        handoff_status: str | None = None,
        agent_name: str | None = None,
    ) -> None:
        """A message from the service itself, such as a queue position update or
        an agent joining; ``handoff_status`` (``queued``, ``assigned``) and the
        agent's name tell the web chat where the customer now stands."""
        metadata: dict[str, Any] = {"tandem_notice": True}
        if handoff_status is not None:
            metadata["handoff_status"] = handoff_status
        if agent_name is not None:
            metadata["agent"] = agent_name
        await self._append_events(
            sender_id, {"event": "bot", "text": text, "metadata": metadata}
        )

    async def check(self) -> None:
        # Rasa's root route answers without a token and touches no conversation.
        try:
            async with self._session.get(
                f"{self._base_url}/", timeout=CHECK_TIMEOUT
            ) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"Rasa answered {response.status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailable("Rasa could not be reached") from error

    async def resume(self, sender_id: str) -> None:
        # For a customer who has left: the bot listens again, and says nothing.
        await self._append_events(sender_id, RESUME_EVENTS)

    async def resume_and_trigger(
        self,
        sender_id: str,
        intent: str = HANDOFF_CLOSED_INTENT,
        entities: dict[str, Any] | None = None,
    ) -> None:
        # Resuming alone makes the bot listen again but not speak; the external
        # intent is what makes it greet the customer back. A paused Rasa never logs
        # action_listen, so it is appended with the resume: without it the intent
        # would follow action_handoff, and no rule of the bot would match it.
        await self._append_events(sender_id, RESUME_EVENTS)
        await self._post(
            sender_id,
            "trigger_intent",
            {"output_channel": "latest"},
            {"name": intent, "entities": entities or {}},
        )

    async def _append_events(
        self, sender_id: str, events: dict[str, Any] | list[dict[str, Any]]
    ) -> None:
        await self._post(
            sender_id,
            "tracker/events",
            {"output_channel": "latest", "execute_side_effects": "true"},
            events,
        )

    def _conversation_url(self, sender_id: str, action: str) -> URL:
        # Sender ids come from customers' channels and may hold any character, so
        # they are quoted; but Rasa's router (Sanic) matches the path undecoded, so
        # what a path may hold as it is stays as it is: the messaging channels'
        # "telegram:42", "whatsapp:+8210…" must reach Rasa as their own ids.
        path = quote(sender_id, safe=SENDER_ID_SAFE)
        return URL(f"{self._base_url}/conversations/{path}/{action}", encoded=True)

    async def _post(
        self,
        sender_id: str,
        action: str,
        query: dict[str, str],
        body: dict[str, Any] | list[dict[str, Any]],
    ) -> None:
        # The URL holds the sender id, which logs name only by its log id.
        url = self._conversation_url(sender_id, action)
        if self._token:
            query = {**query, "token": self._token}
        with conversation(conversation_log_id(sender_id, self._log_secret)):
            try:
                async with self._session.post(
                    url.update_query(query), json=body, timeout=REQUEST_TIMEOUT
                ) as response:
                    if response.status >= 300:
                        answer = await response.content.read(ERROR_BODY_BYTES)
                        detail = answer.decode("utf-8", errors="replace")
                        logger.warning(
                            "Rasa answered %s to %s: %s",
                            response.status,
                            action,
                            detail[:300],
                        )
                        failed = channel_failure(detail)
                        if failed is not None:
                            raise failed
                        raise RasaUnavailable(
                            f"Rasa answered {response.status} to {action}"
                        )
            except (aiohttp.ClientError, TimeoutError) as error:
                logger.warning("Rasa could not be reached for %s: %r", action, error)
                raise RasaUnavailable("Rasa could not be reached") from error


def channel_failure(answer: str) -> ChannelDeliveryFailed | None:
    """The channel's delivery failure that Rasa's error answer reports, if any."""
    match = DELIVERY_FAILED.search(answer)
    if match is None:
        return None
    try:
        channel = Channel(match["channel"])
        reason = DeliveryFailureReason(match["reason"])
    except ValueError:
        return None
    if reason is DeliveryFailureReason.RASA_UNAVAILABLE:
        return None
    permanent = match["permanence"] == "permanent"
    return ChannelDeliveryFailed(
        f"the customer's {channel.value} channel did not deliver the message"
        f" ({reason.value}{'' if permanent else ', after retries'})",
        channel=channel.value,
        reason=reason.value,
        permanent=permanent,
    )


# The readiness check asks Rasa whether it answers at all, and soon.
CHECK_TIMEOUT = aiohttp.ClientTimeout(total=2)

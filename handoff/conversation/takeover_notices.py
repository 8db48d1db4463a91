"""What the service tells a customer when a person takes their conversation over,
passes it on, or has to leave it; and the sending of it.

The texts are in the customer's language (the one the handoff stored). A Korean
notice puts the agent's name only before 님, so its particles never depend on the
name: 님이, 님께, 님과.

Notices go out in the background, after the change they announce has committed,
through the customer's own channel (``RasaGateway.send_notice``). A claim must not
wait for Rasa, and an auto-assignment may happen inside the bot's own request for a
handoff, while Rasa holds that conversation's lock until its turn ends: waiting
for Rasa there would wait for ourselves. Notices to one conversation go out in the
order they were made, and an agent's reply or the closing waits for the ones
already on their way (``delivered``), so the customer reads "Mina joined" before
Mina's first words.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass

from handoff.conversation.rasa_client import RasaGateway
from handoff.errors import RasaUnavailable
from handoff.vocabulary import Skill

logger = logging.getLogger(__name__)

ENGLISH = "en"
ASSIGNED, QUEUED = "assigned", "queued"

_TEAMS = {
    Skill.BILLING: ("요금", "billing"),
    Skill.TECHNICAL: ("기술 지원", "technical support"),
    Skill.RETENTION: ("해지·약정", "contracts and cancellations"),
    Skill.GENERAL: ("일반 상담", "customer care"),
}


class Takeover(enum.Enum):
    """What happened to the customer's conversation with people."""

    JOINED = "joined"  # claimed by an agent or assigned to one
    PASSED_TO_AGENT = "passed_to_agent"  # transferred to another agent
    PASSED_TO_QUEUE = "passed_to_queue"  # transferred to another skill's queue
    BACK_IN_QUEUE = "back_in_queue"  # its agent was deactivated


@dataclass(frozen=True)
class TakeoverNotice:
    handoff_id: int
    sender_id: str
    language: str
    takeover: Takeover
    # The agent who has the conversation now (JOINED, PASSED_TO_AGENT).
    agent_name: str | None = None
    # The queue it went to (PASSED_TO_QUEUE).
    skill: Skill | None = None

    @property
    def handoff_status(self) -> str:
        if self.takeover in (Takeover.JOINED, Takeover.PASSED_TO_AGENT):
            return ASSIGNED
        return QUEUED


def notice_text(notice: TakeoverNotice) -> str:
    name = " ".join((notice.agent_name or "").split())
    korean, english = _TEAMS.get(notice.skill or Skill.GENERAL, _TEAMS[Skill.GENERAL])
    if notice.language == ENGLISH:
        return {
            Takeover.JOINED: f"You are now chatting with {name}, "
            "a customer care agent.",
            Takeover.PASSED_TO_AGENT: f"Your conversation has been passed to {name}, "
            "another customer care agent, who will carry on from here.",
            Takeover.PASSED_TO_QUEUE: "Your conversation has been passed to our "
            f"{english} team. The next available agent there will be with you "
            "shortly.",
            Takeover.BACK_IN_QUEUE: "Your agent can no longer continue, so you are "
            "back in the queue. Another agent will be with you shortly.",
        }[notice.takeover]
    return {
        Takeover.JOINED: f"상담원 {name}님이 연결되었습니다. 지금부터 도와드릴게요.",
        Takeover.PASSED_TO_AGENT: f"상담이 상담원 {name}님께 전달되었습니다. "
        f"이어서 {name}님이 도와드릴게요.",
        Takeover.PASSED_TO_QUEUE: f"상담이 {korean} 담당 상담원에게 전달되었습니다. "
        "순서대로 연결해 드릴게요. 잠시만 기다려 주세요.",
        Takeover.BACK_IN_QUEUE: "담당 상담원이 상담을 이어갈 수 없게 되어 다시 "
        "연결을 기다리고 있습니다. 곧 다른 상담원이 도와드릴게요.",
    }[notice.takeover]


class TakeoverNotices:
    """Sends takeover notices in the background, in order per conversation."""

    def __init__(self, rasa: RasaGateway) -> None:
        self._rasa = rasa
        self._latest: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def tell(self, notice: TakeoverNotice) -> None:
        """Sends ``notice`` after the ones already on their way to the customer."""
        previous = self._latest.get(notice.sender_id)
        task = asyncio.create_task(
            self._send(notice, previous),
            name=f"{notice.takeover.value} notice of handoff {notice.handoff_id}",
        )
        self._latest[notice.sender_id] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(notice.sender_id, done))

    async def delivered(self, sender_id: str) -> None:
        """Returns once the notices on their way to ``sender_id`` went out (or
        could not)."""
        task = self._latest.get(sender_id)
        if task is not None:
            await asyncio.wait([task])

    async def all_delivered(self) -> None:
        """Returns once every notice on its way went out (or could not)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _send(
        self, notice: TakeoverNotice, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await self._rasa.send_notice(
                notice.sender_id,
                notice_text(notice),
                handoff_status=notice.handoff_status,
                agent_name=notice.agent_name,
            )
        except RasaUnavailable:
            # The takeover stands; the customer sees who answers with their reply.
            logger.warning(
                "could not tell handoff %s's customer: %s",
                notice.handoff_id,
                notice.takeover.value,
            )
        except Exception:
            logger.exception(
                "the %s notice of handoff %s failed",
                notice.takeover.value,
                notice.handoff_id,
            )

    def _forget(self, sender_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(sender_id) is task:
            del self._latest[sender_id]

"""A customer message sent again is handled once (bot/resent_messages.py): the
processor's ``handle_message`` as wrapped, on the real tracker store over SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot import resent_messages
from bot.resent_messages import RESENT_KEY
from bot.tracker_store import TandemSQLTrackerStore
from tests.bot.test_tracker_store import ROOT, RecordingBroker

PAGE_ID = "page-0001-abcdef"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


class Processor:
    """What the wrapper uses of Rasa's processor: its tracker store; handling a
    message stores it with the bot's answer, as a turn would."""

    def __init__(self, tracker_store: TandemSQLTrackerStore) -> None:
        self.tracker_store = tracker_store
        self.handled: list[str] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message.text or "")
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(
            UserUttered(message.text, {"name": "greet"}, message_id=message.message_id)
        )
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered("안녕하세요"))
        await self.tracker_store.save(tracker)


def message(text: str, *, resent: bool, message_id: str = PAGE_ID) -> UserMessage:
    metadata = {RESENT_KEY: True} if resent else {}
    return UserMessage(text, sender_id="c", metadata=metadata, message_id=message_id)


@pytest.fixture
def setting(domain: Domain, tmp_path: Path) -> tuple[Processor, RecordingBroker, Any]:
    broker = RecordingBroker()
    store = TandemSQLTrackerStore(
        domain, db=str(tmp_path / "tracker.db"), event_broker=broker
    )
    processor = Processor(store)
    wrapped = resent_messages._once(Processor.handle_message)
    return processor, broker, wrapped


async def test_a_message_sent_again_after_its_turn_is_not_handled_again(
    setting: tuple[Processor, RecordingBroker, Any],
) -> None:
    processor, broker, handle = setting
    await handle(processor, message("안녕", resent=False))
    first = [(e["event"], e["timestamp"], e.get("text")) for e in broker.published]
    broker.published.clear()

    await handle(processor, message("안녕", resent=True))

    assert processor.handled == ["안녕"]
    # What that turn stored goes to the service again, as it was: the service
    # takes each event once, and it may never have had them.
    again = [(e["event"], e["timestamp"], e.get("text")) for e in broker.published]
    user_at = [kind for kind, _, _ in first].index("user")
    assert again == first[user_at:]
    stored = await processor.tracker_store.retrieve("c")
    assert stored is not None
    assert [e.message_id for e in stored.events if isinstance(e, UserUttered)] == [
        PAGE_ID
    ]


async def test_a_message_sent_again_that_never_got_in_is_handled(
    setting: tuple[Processor, RecordingBroker, Any],
) -> None:
    processor, _, handle = setting

    await handle(processor, message("안녕", resent=True))
    await handle(processor, message("요금", resent=True, message_id="page-0002-abcdef"))

    assert processor.handled == ["안녕", "요금"]


async def test_messages_not_sent_again_are_not_looked_for(
    setting: tuple[Processor, RecordingBroker, Any],
) -> None:
    processor, _, handle = setting

    await handle(processor, message("안녕", resent=False))
    # The same id without the mark: a page that reuses ids is not second-guessed.
    await handle(processor, message("안녕", resent=False))

    assert processor.handled == ["안녕", "안녕"]


def test_install_wraps_the_processor_once() -> None:
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor.handle_message
    try:
        resent_messages.install()
        wrapped = MessageProcessor.handle_message
        resent_messages.install()
        assert MessageProcessor.handle_message is wrapped is not original
    finally:
        resent_messages.uninstall()
    assert MessageProcessor.handle_message is original

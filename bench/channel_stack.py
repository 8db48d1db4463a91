"""The stack the channel benchmark talks to: Rasa, action server and handoff service
as ``make run`` starts them (``scripts/run_stack.py``, credentials.yml: the signed
web chat and KakaoTalk, plus Telegram and Twilio because their settings are set),
every messaging channel on, and each platform's stand-in (tests/standins/) as a
process of its own on a free port of 127.0.0.1, so the bot's calls out cross a real
socket to another process, as they would to the platform.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stack import Platforms, Stack, running_platforms, running_stack
from tests.standins.processes import running_stand_in


@dataclass(frozen=True)
class Kakao:
    """Kakao's stand-in (Event API and callback URLs) and the skill's settings."""

    url: str
    bot_id: str
    rest_api_key: str
    skill_secret: str

    def settings(self) -> dict[str, str]:
        return {
            "TANDEM_KAKAO_BOT_ID": self.bot_id,
            "TANDEM_KAKAO_REST_API_KEY": self.rest_api_key,
            "TANDEM_KAKAO_SKILL_SECRET": self.skill_secret,
            "TANDEM_KAKAO_EVENT_API_URL": self.url,
        }


@dataclass(frozen=True)
class ChannelStack:
    stack: Stack
    platforms: Platforms
    kakao: Kakao


@contextmanager
def running_kakao(folder: Path) -> Iterator[Kakao]:
    bot_id = secrets.token_hex(12)
    rest_api_key = secrets.token_urlsafe(16)
    with running_stand_in(
        [
            *("tests.standins.kakao_api", "serve"),
            *("--bot-id", bot_id, "--rest-api-key", rest_api_key),
        ],
        folder / "kakao.log",
    ) as url:
        yield Kakao(
            url=url,
            bot_id=bot_id,
            rest_api_key=rest_api_key,
            skill_secret=secrets.token_urlsafe(16),
        )


@contextmanager
def running_channel_stack(
    model: Path, folder: Path, kakao_reply_seconds: float | None = None
) -> Iterator[ChannelStack]:
    """The stack with every channel on; stopped, stand-ins too, on the way out.
    ``kakao_reply_seconds`` sets TANDEM_KAKAO_REPLY_SECONDS, the channel's default
    when None."""
    if not model.exists():
        raise SystemExit(f"no trained model at {model}: run 'make train' first")
    with (
        running_platforms(folder) as platforms,
        running_kakao(folder) as kakao,
        running_stack(
            model,
            folder,
            channel_settings={
                **kakao.settings(),
                **(
                    {}
                    if kakao_reply_seconds is None
                    else {"TANDEM_KAKAO_REPLY_SECONDS": str(kakao_reply_seconds)}
                ),
            },
            # Every simulated conversation verifies the same demo customer, which
            # the one-time-code limit per number would rightly refuse after a few;
            # every web chat customer comes from 127.0.0.1, which the limit of new
            # chat sessions per address would refuse likewise.
            extra_env={
                "TANDEM_CODES_PER_NUMBER": "1000000",
                "TANDEM_CHAT_SESSIONS_PER_ADDRESS": "1000000",
            },
            platforms=platforms,
        ) as stack,
    ):
        yield ChannelStack(stack, platforms, kakao)

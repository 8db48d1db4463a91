"""The messaging channels load from a credentials file that only names them, with
every setting from the environment, as scripts/run_stack.py writes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.run import create_http_input_channels

from bot.channels.configuration import MissingChannelSetting
from bot.channels.telegram import TelegramInput
from bot.channels.twilio import TwilioInput

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "TANDEM_CHAT_SESSION_SECRET": "chat-session-secret",
    "TANDEM_TELEGRAM_TOKEN": "123:token",
    "TANDEM_TELEGRAM_SECRET_TOKEN": "secret",
    "TANDEM_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TANDEM_TWILIO_AUTH_TOKEN": "auth-token",
    "TANDEM_TWILIO_NUMBER": "+15005550006",
    "TANDEM_PUBLIC_URL": "https://bot.example.com",
}


def credentials_file(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.generated.yml"
    path.write_text(
        (ROOT / "credentials.yml").read_text("utf-8")
        + "\nbot.channels.telegram.TelegramInput: {}\n"
        + "bot.channels.twilio.TwilioInput: {}\n",
        "utf-8",
    )
    return path


def test_the_channels_come_up_with_their_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TANDEM_VAR_DIR", str(tmp_path / "var"))

    channels = create_http_input_channels(None, str(credentials_file(tmp_path)))

    # KakaoTalk is always listed, and serves nothing without its own settings.
    assert [channel.name() for channel in channels] == [
        "socketio",
        "kakao",
        "telegram",
        "twilio",
    ]
    assert isinstance(channels[2], TelegramInput)
    assert isinstance(channels[3], TwilioInput)
    assert (tmp_path / "var" / "channel_state.db").exists()


def test_a_named_channel_without_its_secret_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TANDEM_TELEGRAM_SECRET_TOKEN")
    monkeypatch.setenv("TANDEM_VAR_DIR", str(tmp_path / "var"))

    with pytest.raises(MissingChannelSetting, match="TANDEM_TELEGRAM_SECRET_TOKEN"):
        create_http_input_channels(None, str(credentials_file(tmp_path)))

"""scripts/run_stack.py passes secrets through the environment, never on a command
line, and scripts/make_env.py gives every secret a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import make_env, run_stack

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "TANDEM_RASA_TOKEN": "rasa-token-value",
    "TANDEM_SERVICE_SECRET": "service-secret-value",
    "TANDEM_ACTIONS_TOKEN": "actions-token-value",
    "TANDEM_CHAT_SESSION_SECRET": "chat-session-secret-value",
    "TANDEM_REST_TOKEN": "rest-token-value",
    "TANDEM_DEMO_AGENT_PASSWORD": "demo-password-value",
}


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {**SECRETS, "TANDEM_VAR_DIR": str(tmp_path / "var"), **extra}
    return dict(run_stack.stack_environment(base, tmp_path / "no.env", tmp_path))


def test_no_secret_is_on_a_command_line(tmp_path: Path) -> None:
    env = environment(tmp_path, TANDEM_CREDENTIALS_FILE="bench/credentials.yml")
    children = run_stack.children(env, tmp_path / "model.tar.gz")
    assert [child.name for child in children] == ["handoff", "actions", "rasa"]
    for child in children:
        for secret in SECRETS.values():
            assert not any(secret in part for part in child.command), child.name
        # The children get them from their environment instead.
        assert all(env[key] == value for key, value in SECRETS.items())


def test_rasa_and_the_action_server_start_from_tandem_entry_points(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path)
    commands = {
        child.name: child.command
        for child in run_stack.children(env, tmp_path / "model.tar.gz")
    }
    assert commands["actions"][1:] == ["-m", "actions.server"]
    assert commands["rasa"][1:3] == ["-m", "bot.server"]
    assert "--auth-token" not in commands["rasa"]


def test_the_rest_channel_is_off_unless_a_credentials_file_opens_it(
    tmp_path: Path,
) -> None:
    rasa = run_stack.children(environment(tmp_path), tmp_path / "m")[2].command
    assert rasa[rasa.index("--credentials") + 1] == "credentials.yml"
    assert "rest:" not in (ROOT / "credentials.yml").read_text("utf-8").splitlines()
    bench = environment(tmp_path, TANDEM_CREDENTIALS_FILE="bench/credentials.yml")
    rasa = run_stack.children(bench, tmp_path / "m")[2].command
    assert rasa[rasa.index("--credentials") + 1] == "bench/credentials.yml"


def test_the_action_server_stays_on_loopback_when_the_rest_is_exposed(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path, TANDEM_HOST="0.0.0.0")
    assert env["TANDEM_ACTIONS_HOST"] == "127.0.0.1"
    assert env["TANDEM_ACTIONS_URL"] == "http://127.0.0.1:5055/webhook"
    actions = run_stack.children(env, tmp_path / "m")[1]
    assert actions.health_url == "http://127.0.0.1:5055/health"


@pytest.mark.parametrize("missing", run_stack.SECRETS)
def test_the_stack_will_not_start_without_each_secret(
    tmp_path: Path, missing: str
) -> None:
    base = {k: v for k, v in SECRETS.items() if k != missing}
    with pytest.raises(SystemExit, match=f"{missing} is not set"):
        run_stack.stack_environment(base, tmp_path / "no.env", tmp_path)


def test_a_new_env_file_has_every_secret_each_its_own(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    make_env.main(["make_env.py", str(target)])
    values = run_stack.read_env_file(target)
    generated = [values[key] for key in make_env.SECRET_KEYS]
    assert set(make_env.SECRET_KEYS) == set(run_stack.SECRETS)
    assert all(len(value) >= 32 for value in generated)
    assert len(set(generated)) == len(generated)


def test_an_older_env_file_gets_the_secrets_it_lacks_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    target = tmp_path / ".env"
    target.write_text(
        "TANDEM_RASA_TOKEN=kept\nTANDEM_SERVICE_SECRET=also-kept\nTANDEM_HOST=::1",
        "utf-8",
    )
    make_env.main(["make_env.py", str(target)])
    values = run_stack.read_env_file(target)
    assert values["TANDEM_RASA_TOKEN"] == "kept"
    assert values["TANDEM_SERVICE_SECRET"] == "also-kept"
    assert values["TANDEM_HOST"] == "::1"
    assert len(values["TANDEM_ACTIONS_TOKEN"]) >= 32
    make_env.main(["make_env.py", str(target)])
    assert run_stack.read_env_file(target) == values


TELEGRAM = {
    "TANDEM_TELEGRAM_TOKEN": "123:telegram-token-value",
    "TANDEM_TELEGRAM_SECRET_TOKEN": "telegram-secret-value",
}
TWILIO = {
    "TANDEM_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TANDEM_TWILIO_AUTH_TOKEN": "twilio-auth-token-value",
    "TANDEM_TWILIO_WHATSAPP_NUMBER": "+14155238886",
    "TANDEM_PUBLIC_URL": "https://bot.example.com",
}


def test_without_channel_settings_the_credentials_file_is_the_usual_one(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path)

    assert env["TANDEM_CREDENTIALS_FILE"] == "credentials.yml"
    assert not (tmp_path / "var" / run_stack.GENERATED_CREDENTIALS).exists()
    assert "webhook" not in run_stack.banner(env)


def test_the_configured_channels_are_added_to_a_generated_credentials_file(
    tmp_path: Path,
) -> None:
    env = environment(tmp_path, **TELEGRAM, **TWILIO)

    generated = Path(env["TANDEM_CREDENTIALS_FILE"])
    assert generated == tmp_path / "var" / run_stack.GENERATED_CREDENTIALS
    text = generated.read_text("utf-8")
    assert text.startswith((ROOT / "credentials.yml").read_text("utf-8").rstrip())
    assert text.rstrip().splitlines()[-2:] == [
        "bot.channels.telegram.TelegramInput: {}",
        "bot.channels.twilio.TwilioInput: {}",
    ]
    # Secrets stay in the environment, never in the file.
    for secret in (*TELEGRAM.values(), TWILIO["TANDEM_TWILIO_AUTH_TOKEN"]):
        assert secret not in text
    rasa = run_stack.children(env, tmp_path / "m")[2].command
    assert rasa[rasa.index("--credentials") + 1] == str(generated)
    assert all(secret not in part for secret in TELEGRAM.values() for part in rasa)
    banner = run_stack.banner(env)
    assert "https://bot.example.com/webhooks/telegram/webhook" in banner
    assert "https://bot.example.com/webhooks/twilio/webhook" in banner


def test_one_channel_alone_is_added_to_the_chosen_credentials_file(
    tmp_path: Path,
) -> None:
    env = environment(
        tmp_path, TANDEM_CREDENTIALS_FILE="bench/credentials.yml", **TELEGRAM
    )

    text = Path(env["TANDEM_CREDENTIALS_FILE"]).read_text("utf-8")
    assert "bot.rest_channel.TokenRestInput" in text
    assert "bot.channels.telegram.TelegramInput: {}" in text
    assert "TwilioInput" not in text


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"TANDEM_TELEGRAM_TOKEN": "1:t"}, "TANDEM_TELEGRAM_SECRET_TOKEN"),
        (
            {key: value for key, value in TWILIO.items() if key != "TANDEM_PUBLIC_URL"},
            "TANDEM_PUBLIC_URL",
        ),
        (
            {k: v for k, v in TWILIO.items() if k != "TANDEM_TWILIO_WHATSAPP_NUMBER"},
            "TANDEM_TWILIO_NUMBER or TANDEM_TWILIO_WHATSAPP_NUMBER",
        ),
    ],
)
def test_a_channel_missing_a_setting_stops_the_start(
    tmp_path: Path, settings: dict[str, str], missing: str
) -> None:
    with pytest.raises(SystemExit, match=missing):
        environment(tmp_path, **settings)

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

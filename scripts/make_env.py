"""Creates .env from .env.example with fresh random secrets. An existing .env keeps
its values and gets a random value for each secret it lacks, so a secret added to
Tandem later reaches an older .env."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

SECRET_KEYS = (
    "TANDEM_RASA_TOKEN",
    "TANDEM_SERVICE_SECRET",
    "TANDEM_ACTIONS_TOKEN",
    "TANDEM_CHAT_SESSION_SECRET",
)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def render(example: str) -> str:
    lines = []
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if key in SECRET_KEYS and not value:
            line = f"{key}={new_secret()}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def missing_secrets(existing: str) -> list[str]:
    """``KEY=value`` lines for the secrets ``existing`` has no value for."""
    present = set()
    for line in existing.splitlines():
        key, _, value = line.partition("=")
        if value.strip():
            present.add(key.strip())
    return [f"{key}={new_secret()}" for key in SECRET_KEYS if key not in present]


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(".env")
    if target.exists():
        existing = target.read_text("utf-8")
        added = missing_secrets(existing)
        if added:
            separator = "" if not existing or existing.endswith("\n") else "\n"
            target.write_text(existing + separator + "\n".join(added) + "\n", "utf-8")
            names = ", ".join(line.partition("=")[0] for line in added)
            print(f"Added {names} to {target} with new random values")
        # Newer than .env.example, so make does not ask again.
        os.utime(target)
        return 0
    example = Path(__file__).resolve().parent.parent / ".env.example"
    target.write_text(render(example.read_text("utf-8")), "utf-8")
    target.chmod(0o600)
    print(f"Wrote {target} with new random secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

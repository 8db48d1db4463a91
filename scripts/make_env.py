"""Creates .env from .env.example with fresh random secrets, unless .env exists."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

SECRET_KEYS = (
    "TANDEM_RASA_TOKEN",
    "TANDEM_SERVICE_SECRET",
    "TANDEM_CHAT_SESSION_SECRET",
)


def render(example: str) -> str:
    lines = []
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if key in SECRET_KEYS and not value:
            line = f"{key}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else Path(".env")
    if target.exists():
        return 0
    example = Path(__file__).resolve().parent.parent / ".env.example"
    target.write_text(render(example.read_text("utf-8")), "utf-8")
    target.chmod(0o600)
    print(f"Wrote {target} with new random secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

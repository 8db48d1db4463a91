"""Health check of a container: exits 0 when the URL answers 2xx, 1 otherwise.

The images are slim and have no curl; this needs only the standard library.

    python probe.py http://127.0.0.1:8080/health/live
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4.0


def answers(url: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: probe.py URL", file=sys.stderr)
        return 2
    if answers(argv[1]):
        return 0
    print(f"no 2xx answer from {argv[1]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Platform stand-ins as processes of their own, on ports they choose themselves.

A stand-in binds port 0 and prints the URL it got (``recording.LISTENING``); the
caller reads it from the process's log. Choosing a free port here and handing it
over would leave a window in which another process could take it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.standins.recording import LISTENING

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0
STOP_SECONDS = 10.0


def listening_url(log_path: Path) -> str | None:
    """The URL a stand-in printed in its log, if it has yet."""
    for line in log_path.read_text("utf-8", errors="replace").splitlines():
        if line.startswith(LISTENING):
            return line[len(LISTENING) :].strip()
    return None


def wait_for_url(
    process: subprocess.Popen[bytes],
    log_path: Path,
    name: str,
    seconds: float = START_SECONDS,
) -> str:
    """The stand-in's URL once it listens; its log in the error if it ends first
    or does not listen within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        url = listening_url(log_path)
        if url is not None:
            return url
        if process.poll() is not None:
            reason = f"ended with exit code {process.returncode}"
            break
        if time.monotonic() > deadline:
            reason = f"did not listen within {seconds:.0f} s"
            break
        time.sleep(0.1)
    tail = log_path.read_text("utf-8", errors="replace")[-3000:]
    raise RuntimeError(f"the stand-in {name} {reason}:\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_stand_in(arguments: Sequence[str], log_path: Path) -> Iterator[str]:
    """``python -m <arguments>`` (a stand-in's module and its options, without a
    port), its output in ``log_path``; yields its base URL, stops it on the way
    out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *arguments],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield wait_for_url(process, log_path, arguments[0])
    finally:
        stop(process)

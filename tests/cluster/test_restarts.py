"""The launchers' restart policy (scripts/restarts.py) and their supervision of real
child processes (scripts/run_stack.py's Stack): a killed process started again after
its wait, with its new id in its pid file; a clean exit under on-failure; giving up
on a process that never comes up; the stop in stages."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import run_stack
from tests.cluster.cluster import free_port

Restart = run_stack.Restart
# Answers GET / with 200, like a process's health check.
SERVE = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
# Answers its health check; when asked to stop, writes its name to a file, takes a
# moment, and exits.
STOPS_SLOWLY = """
import http.server, signal, sys, threading, time
server = http.server.HTTPServer(
    ("127.0.0.1", int(sys.argv[3])), http.server.SimpleHTTPRequestHandler
)
threading.Thread(target=server.serve_forever, daemon=True).start()
def stop(*_):
    with open(sys.argv[2], "a") as log:
        log.write(sys.argv[1] + "\\n")
    time.sleep(0.3)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.1)
"""


def server(name: str, **options: bool) -> run_stack.Child:
    port = free_port()
    return run_stack.Child(
        name=name,
        command=[*SERVE, str(port)],
        health_url=f"http://127.0.0.1:{port}/",
        env=dict(os.environ),
        **options,
    )


def stops_cleanly(name: str, log: Path, **options: bool) -> run_stack.Child:
    port = free_port()
    return run_stack.Child(
        name=name,
        command=[sys.executable, "-c", STOPS_SLOWLY, name, str(log), str(port)],
        health_url=f"http://127.0.0.1:{port}/",
        env=dict(os.environ),
        **options,
    )


def exits(name: str, status: int) -> run_stack.Child:
    return run_stack.Child(
        name=name,
        command=[sys.executable, "-c", f"import sys; sys.exit({status})"],
        health_url="http://127.0.0.1:9/",
        env=dict(os.environ),
    )


@pytest.fixture
def stacks() -> Iterator[list[run_stack.Stack]]:
    made: list[run_stack.Stack] = []
    yield made
    for stack in made:
        stack.stop()


def started(
    stacks: list[run_stack.Stack], children: list[run_stack.Child], **options: object
) -> run_stack.Stack:
    stack = run_stack.Stack(dict(os.environ), children, **options)  # type: ignore[arg-type]
    stacks.append(stack)
    stack.start()
    stack.wait_until_ready(timeout=30)
    return stack


def tend_until(stack: run_stack.Stack, done: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert stack.tend() is None
        if done():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("the stack never got there")


def pid_in(folder: Path, name: str) -> int:
    return int((folder / f"{name}.pid").read_text("utf-8"))


@pytest.mark.parametrize(
    ("policy", "status", "again"),
    [
        ("no", -9, False),
        ("no", 0, False),
        ("on-failure", -9, True),
        ("on-failure", 1, True),
        ("on-failure", 0, False),
        ("always", 0, True),
    ],
)
def test_which_stops_each_policy_starts_again(
    policy: str, status: int, again: bool
) -> None:
    assert Restart.parse(policy).restarts(status) is again


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(SystemExit, match="must be one of no, on-failure, always"):
        Restart.parse("sometimes")


def test_the_wait_doubles_up_to_its_longest_and_starts_over() -> None:
    backoff = run_stack.Backoff(first=1, longest=30)

    delays = [backoff.next_delay() for _ in range(7)]
    backoff.reset()

    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay() == 1


def test_a_killed_process_is_started_again_and_its_pid_file_follows(
    stacks: list[run_stack.Stack], tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    child, other = server("one"), server("two")
    stack = started(
        stacks,
        [child, other],
        restart=Restart.ON_FAILURE,
        pid_dir=pids,
        first_delay=0.2,
    )
    first = pid_in(pids, "one")
    assert first == stack.running["one"].pid
    untouched = stack.running["two"].pid

    os.kill(first, signal.SIGKILL)
    tend_until(stack, lambda: not (pids / "one.pid").exists())
    tend_until(
        stack,
        lambda: (pids / "one.pid").exists() and not stack.watches["one"].recovering,
    )

    assert pid_in(pids, "one") == stack.running["one"].pid != first
    assert run_stack.answers(child.health_url)
    assert stack.running["two"].pid == untouched


def test_without_a_policy_one_stop_stops_the_stack(
    stacks: list[run_stack.Stack],
) -> None:
    stack = started(stacks, [server("one"), server("two")])

    os.kill(stack.running["two"].pid, signal.SIGKILL)
    stack.running["two"].wait()

    assert stack.tend() == "two"


def test_a_clean_exit_under_on_failure_stays_stopped_and_the_others_go_on(
    stacks: list[run_stack.Stack], tmp_path: Path
) -> None:
    stack = started(
        stacks,
        [server("one"), stops_cleanly("two", tmp_path / "stopped")],
        restart=Restart.ON_FAILURE,
    )

    os.kill(stack.running["two"].pid, signal.SIGTERM)
    stack.running["two"].wait()
    for _ in range(5):
        assert stack.tend() is None
        time.sleep(0.05)

    assert stack.watches["two"].ended
    assert stack.running["two"].poll() is not None
    assert stack.running["one"].poll() is None


def test_a_process_that_never_comes_up_is_given_up_on(
    stacks: list[run_stack.Stack],
) -> None:
    stack = run_stack.Stack(
        dict(os.environ),
        [server("one"), exits("broken", 3)],
        restart=Restart.ALWAYS,
        first_delay=0.01,
    )
    stacks.append(stack)
    stack.start()
    stack.running["broken"].wait()

    deadline = time.monotonic() + 20
    stopped = None
    while stopped is None and time.monotonic() < deadline:
        stopped = stack.tend()
        time.sleep(0.02)

    assert stopped == "broken"
    assert stack.watches["broken"].failed_starts == run_stack.MAX_FAILURES_IN_A_ROW


def test_the_stop_goes_in_stages(stacks: list[run_stack.Stack], tmp_path: Path) -> None:
    log = tmp_path / "stopped"

    stack = started(
        stacks,
        [
            stops_cleanly("balancer", log, starts_last=True),
            stops_cleanly("service", log),
            stops_cleanly("bot", log, stops_first=True),
        ],
        pid_dir=tmp_path / "pids",
    )

    stack.stop()

    assert log.read_text("utf-8").split() == ["bot", "service", "balancer"]
    assert list((tmp_path / "pids").iterdir()) == []

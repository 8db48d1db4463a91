"""The cluster benchmark's arithmetic and its reading of /proc, kept apart from the
processes and the load so they can be checked on fixed inputs.

Everything here is a pure function of text read from /proc or of numbers measured
elsewhere: percentiles of latencies, a process's resident memory and CPU ticks, the
machine's CPU counters and load average, the listening sockets that tell which
process is which, and the rule that names the first bottleneck.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# /proc/net/tcp's state of a listening socket.
LISTEN_STATE = "0A"
# A Python process runs its event loop on one core: at this share of a core it is
# saturated (the rest is the kernel's and the sampling's slack).
SATURATED_CORE_SHARE = 0.85
# The machine is saturated when its cores are this busy, whoever keeps them busy.
SATURATED_MACHINE_SHARE = 0.9


class ProcFormatError(ValueError):
    """A /proc file does not look the way this module reads it."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolated between the two nearest ranks as
    numpy's default does (the other benchmarks' figures are numpy's)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is from 0 to 100, not {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """Count, p50, p99 and maximum of latencies in milliseconds (all 0 if none)."""
    if not values_ms:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "count": len(values_ms),
        "p50_ms": percentile(values_ms, 50),
        "p99_ms": percentile(values_ms, 99),
        "max_ms": float(max(values_ms)),
    }


def rate(count: int, seconds: float) -> float:
    """Events a second; a phase that took no time has no rate."""
    if seconds <= 0:
        raise ValueError(f"a phase must take some time, not {seconds} s")
    return count / seconds


def status_kib(status_text: str, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (``VmRSS``, ``VmHWM``), in KiB."""
    for line in status_text.splitlines():
        name, _, value = line.partition(":")
        if name == field:
            amount, _, unit = value.strip().partition(" ")
            if unit != "kB" or not amount.isdigit():
                raise ProcFormatError(f"{field} is not in kB: {line!r}")
            return int(amount)
    raise ProcFormatError(f"no {field} in the status text")


@dataclass(frozen=True)
class ProcessTimes:
    """What /proc/<pid>/stat says of a process: its parent, when it started (in
    ticks since boot, which tells a reused pid from the same process) and the CPU it
    used in user and kernel mode, all its threads together, in clock ticks."""

    parent: int
    started: int
    cpu_ticks: int


def process_times(stat_text: str) -> ProcessTimes:
    """Parses /proc/<pid>/stat. The command name, in parentheses, may itself hold
    spaces and parentheses, so the fields are counted from the last ``)``."""
    closing = stat_text.rfind(")")
    if closing == -1:
        raise ProcFormatError(f"no command name in {stat_text[:80]!r}")
    fields = stat_text[closing + 1 :].split()
    # Fields from the state (the 3rd of the line): ppid 4th, utime 14th, stime
    # 15th, starttime 22nd.
    if len(fields) < 20:
        raise ProcFormatError(f"too few fields in {stat_text[:80]!r}")
    try:
        return ProcessTimes(
            parent=int(fields[1]),
            started=int(fields[19]),
            cpu_ticks=int(fields[11]) + int(fields[12]),
        )
    except ValueError as error:
        raise ProcFormatError(f"not a stat line: {stat_text[:80]!r}") from error


@dataclass(frozen=True)
class MachineTicks:
    """The first ``cpu`` line of /proc/stat: ticks all cores spent busy, and in all."""

    busy: int
    total: int


def machine_ticks(proc_stat_text: str) -> MachineTicks:
    """Busy is everything but idle and waiting for I/O. Guest time is already in
    user time, so only the first eight counters are added."""
    for line in proc_stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            try:
                counters = [int(value) for value in fields[1:9]]
            except ValueError as error:
                raise ProcFormatError(f"not a cpu line: {line!r}") from error
            if len(counters) < 5:
                raise ProcFormatError(f"too few counters: {line!r}")
            total = sum(counters)
            return MachineTicks(busy=total - counters[3] - counters[4], total=total)
    raise ProcFormatError("no cpu line in /proc/stat")


def machine_busy_cores(before: MachineTicks, after: MachineTicks, cores: int) -> float:
    """How many of the machine's cores were busy on average between two readings."""
    elapsed = after.total - before.total
    if elapsed <= 0:
        raise ValueError("the second reading of /proc/stat is not later")
    return cores * (after.busy - before.busy) / elapsed


def load_average(loadavg_text: str) -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages of /proc/loadavg."""
    fields = loadavg_text.split()
    try:
        return float(fields[0]), float(fields[1]), float(fields[2])
    except (IndexError, ValueError) as error:
        raise ProcFormatError(f"not /proc/loadavg: {loadavg_text!r}") from error


def cores_used(ticks_before: int, ticks_after: int, seconds: float, hz: int) -> float:
    """A process's CPU between two readings, as the share of one core it kept busy."""
    if seconds <= 0:
        raise ValueError(f"the readings must be apart in time, not {seconds} s")
    return (ticks_after - ticks_before) / hz / seconds


def listening_ports(proc_net_tcp_text: str) -> dict[int, int]:
    """Socket inode to port of every listening socket in /proc/net/tcp (or tcp6)."""
    ports: dict[int, int] = {}
    for line in proc_net_tcp_text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, state, inode = fields[1], fields[3], fields[9]
        if state != LISTEN_STATE or ":" not in local:
            continue
        ports[int(inode)] = int(local.rpartition(":")[2], 16)
    return ports


def socket_inode(link: str) -> int | None:
    """The inode of a ``socket:[12345]`` link in /proc/<pid>/fd, None otherwise."""
    if link.startswith("socket:[") and link.endswith("]"):
        return int(link[len("socket:[") : -1])
    return None


def is_backend_of(cmdline: str, databases: Sequence[str]) -> bool:
    """Whether a PostgreSQL backend's title, as /proc/<pid>/cmdline shows it, names
    one of ``databases``: ``postgres: [cluster:] user database host state``, the
    server's cluster name (Debian's ``15/main:``) there when it has one."""
    words = cmdline.replace("\0", " ").split()
    if not words or words[0] != "postgres:":
        return False
    words = words[1:]
    if words and words[0].endswith(":"):
        words = words[1:]
    return len(words) > 1 and words[1] in databases


def first_bottleneck(
    cores_by_process: Mapping[str, float], machine_busy: float, cores: int
) -> str:
    """Where the first bottleneck of a phase sits: the busiest process if it kept
    its core saturated, else the machine's cores if they were, else nowhere."""
    if not cores_by_process:
        raise ValueError("no process was measured")
    busiest = max(cores_by_process, key=lambda name: cores_by_process[name])
    share = cores_by_process[busiest]
    if share >= SATURATED_CORE_SHARE:
        return f"{busiest} ({share:.2f} of a core)"
    if machine_busy >= SATURATED_MACHINE_SHARE * cores:
        return (
            f"the machine's {cores} cores ({machine_busy:.2f} busy; busiest process"
            f" {busiest} at {share:.2f})"
        )
    return f"none saturated (busiest {busiest} at {share:.2f} of a core)"

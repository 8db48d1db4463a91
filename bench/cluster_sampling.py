"""Readings of /proc during the cluster benchmark: which process is which, and how
much CPU and memory each used.

A launcher (scripts/run_stack.py, scripts/run_cluster.py) starts its processes
itself; they are told apart here by the port each listens on, read from the
kernel's socket table and each process's open files, so the launchers need to
publish nothing. PostgreSQL's backends are counted when their title names one of
the run's own databases; Redis, which other work on the machine may share, as its
whole server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.cluster_measures import (
    MachineTicks,
    ProcessTimes,
    ProcFormatError,
    cores_used,
    is_backend_of,
    listening_ports,
    load_average,
    machine_busy_cores,
    machine_ticks,
    process_times,
    socket_inode,
    status_kib,
)

PROC = Path("/proc")
HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
KIB_PER_MIB = 1024


def _read(path: Path) -> str | None:
    """A /proc file, or None when its process has gone (or was never ours to read)."""
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return None


def times_of(pid: int) -> ProcessTimes | None:
    text = _read(PROC / str(pid) / "stat")
    if text is None:
        return None
    try:
        return process_times(text)
    except ProcFormatError:
        return None


def all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def descendants(root: int) -> list[int]:
    """Every process below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        times = times_of(pid)
        if times is not None:
            children.setdefault(times.parent, []).append(pid)
    found, waiting = [], [root]
    while waiting:
        for child in children.get(waiting.pop(), []):
            found.append(child)
            waiting.append(child)
    return found


def _listening_inodes() -> dict[int, int]:
    ports: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        text = _read(PROC / "net" / table)
        if text is not None:
            ports.update(listening_ports(text))
    return ports


def ports_of(pids: Iterable[int]) -> dict[int, set[int]]:
    """The ports each of ``pids`` listens on."""
    inodes = _listening_inodes()
    found: dict[int, set[int]] = {}
    for pid in pids:
        try:
            entries = list((PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for entry in entries:
            # A file may close between the listing and the reading of its link.
            try:
                inode = socket_inode(os.readlink(entry))
            except OSError:
                continue
            if inode is not None and inode in inodes:
                found.setdefault(pid, set()).add(inodes[inode])
    return found


@dataclass(frozen=True)
class Tracked:
    """A process by its pid and start time: a pid the kernel gives to another
    process later is not the same process."""

    pid: int
    started: int

    def alive(self) -> bool:
        times = times_of(self.pid)
        return times is not None and times.started == self.started


def named_processes(root: int, names_by_port: Mapping[int, str]) -> dict[str, Tracked]:
    """The processes below ``root`` that listen on one of the ports, by name."""
    named: dict[str, Tracked] = {}
    for pid, ports in ports_of(descendants(root)).items():
        for port in sorted(ports):
            name = names_by_port.get(port)
            times = times_of(pid)
            if name is not None and times is not None and name not in named:
                named[name] = Tracked(pid, times.started)
                break
    missing = sorted(set(names_by_port.values()) - set(named))
    if missing:
        raise RuntimeError(f"found no process listening for {', '.join(missing)}")
    return named


def postgres_backends(databases: Iterable[str]) -> list[int]:
    names = list(databases)
    return [
        pid
        for pid in all_pids()
        if is_backend_of(_read(PROC / str(pid) / "cmdline") or "", names)
    ]


def redis_servers() -> list[int]:
    return [
        pid
        for pid in all_pids()
        if (_read(PROC / str(pid) / "comm") or "").strip() == "redis-server"
    ]


def resident_mib(pid: int) -> tuple[float, float] | None:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    text = _read(PROC / str(pid) / "status")
    if text is None:
        return None
    try:
        return (
            status_kib(text, "VmRSS") / KIB_PER_MIB,
            status_kib(text, "VmHWM") / KIB_PER_MIB,
        )
    except ProcFormatError:
        return None


@dataclass
class Reading:
    """CPU ticks of every group of processes, and the machine's, at one moment."""

    at: float
    machine: MachineTicks
    ticks: dict[str, dict[int, int]] = field(default_factory=dict)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)


def read_groups(groups: Mapping[str, Iterable[int]]) -> Reading:
    """CPU ticks of each group's processes (a group is one named process, or, for
    the databases, all its processes), with the machine's counters and load."""
    reading = Reading(
        at=time.monotonic(),
        machine=machine_ticks(_read(PROC / "stat") or ""),
        load=load_average(_read(PROC / "loadavg") or ""),
    )
    for name, pids in groups.items():
        ticks = {}
        for pid in pids:
            times = times_of(pid)
            if times is not None:
                ticks[pid] = times.cpu_ticks
        reading.ticks[name] = ticks
    return reading


@dataclass(frozen=True)
class CpuShares:
    """The CPU of a phase: each group's share of a core, and the machine's busy
    cores, between two readings."""

    seconds: float
    by_group: dict[str, float]
    machine_busy: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def cpu_between(before: Reading, after: Reading) -> CpuShares:
    """Each group's CPU over the processes present at both readings (a database
    backend that came or went between them is left out)."""
    seconds = after.at - before.at
    by_group = {}
    for name, ticks_after in after.ticks.items():
        ticks_before = before.ticks.get(name, {})
        common = set(ticks_before) & set(ticks_after)
        by_group[name] = cores_used(
            sum(ticks_before[pid] for pid in common),
            sum(ticks_after[pid] for pid in common),
            seconds,
            HZ,
        )
    return CpuShares(
        seconds=seconds,
        by_group=by_group,
        machine_busy=machine_busy_cores(before.machine, after.machine, CORES),
        load_before=before.load,
        load_after=after.load,
    )

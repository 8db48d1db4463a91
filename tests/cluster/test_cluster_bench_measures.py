"""The cluster benchmark's arithmetic and its reading of /proc
(bench/cluster_measures.py, bench/cluster_report.py), on fixed texts in the kernel's
formats, and its finding of a process by the port it listens on."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bench.cluster_measures import (
    MachineTicks,
    ProcFormatError,
    cores_used,
    first_bottleneck,
    is_backend_of,
    latency_summary,
    listening_ports,
    load_average,
    machine_busy_cores,
    machine_ticks,
    percentile,
    process_times,
    rate,
    socket_inode,
    status_kib,
)
from bench.cluster_report import (
    END_MARKER,
    START_MARKER,
    by_kind,
    cpu_model,
    memory_gib,
    process_kind,
    write_section,
)
from bench.cluster_sampling import named_processes, times_of


def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    values = [float(value) for value in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_a_latency_summary_has_count_median_tail_and_worst() -> None:
    summary = latency_summary([10.0, 20.0, 30.0, 40.0, 1000.0])
    assert summary["count"] == 5
    assert summary["p50_ms"] == 30.0
    assert 960 < summary["p99_ms"] < 1000
    assert summary["max_ms"] == 1000.0
    assert latency_summary([])["count"] == 0


def test_a_rate_needs_time() -> None:
    assert rate(30, 10.0) == 3.0
    with pytest.raises(ValueError):
        rate(1, 0.0)


STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t 2345678 kB
VmHWM:\t 1468006 kB
VmRSS:\t 1383424 kB
Threads:\t23
"""


def test_resident_memory_is_read_in_kib() -> None:
    assert status_kib(STATUS, "VmRSS") == 1383424
    assert status_kib(STATUS, "VmHWM") == 1468006
    with pytest.raises(ProcFormatError):
        status_kib(STATUS, "VmSwap")
    with pytest.raises(ProcFormatError):
        status_kib("VmRSS:\t 12 MB\n", "VmRSS")


def _stat_line(command: str, parent: int, utime: int, stime: int, start: int) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
    # vsize rss ...
    return (
        f"4242 ({command}) S {parent} 4242 4242 0 -1 4194560 1000 0 0 0 "
        f"{utime} {stime} 5 6 20 0 23 0 {start} 123456789 33000 18446744073709551615"
    )


def test_cpu_ticks_and_parent_are_counted_after_the_command_name() -> None:
    # A command name with spaces and a parenthesis must not shift the fields.
    times = process_times(_stat_line("odd) name (x", 17, 1500, 250, 98765))
    assert (times.parent, times.cpu_ticks, times.started) == (17, 1750, 98765)
    with pytest.raises(ProcFormatError):
        process_times("4242 python S 1 2 3")
    with pytest.raises(ProcFormatError):
        process_times("4242 (python) S 1 2")


def test_the_machine_is_busy_except_when_idle_or_waiting_for_io() -> None:
    text = (
        "cpu  100 10 50 800 40 5 5 0 30 0\ncpu0 50 5 25 400 20 2 3 0 15 0\nintr 12345\n"
    )
    ticks = machine_ticks(text)
    # Guest time (the 9th counter) is in user time already.
    assert ticks == MachineTicks(busy=170, total=1010)
    later = MachineTicks(busy=ticks.busy + 150, total=ticks.total + 200)
    assert machine_busy_cores(ticks, later, 2) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        machine_busy_cores(later, ticks, 2)
    with pytest.raises(ProcFormatError):
        machine_ticks("intr 1\n")


def test_a_process_share_of_a_core() -> None:
    assert cores_used(1000, 1850, 10.0, 100) == pytest.approx(0.85)
    with pytest.raises(ValueError):
        cores_used(0, 1, 0.0, 100)


def test_load_average() -> None:
    assert load_average("1.62 0.87 0.40 3/812 12345\n") == (1.62, 0.87, 0.40)
    with pytest.raises(ProcFormatError):
        load_average("")


NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 20 4 30 10 -1
   2: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   108        0 4242 1 0000000000000000 100 0 0 10 0
"""  # noqa: E501


def test_listening_sockets_by_inode_and_fd_links() -> None:
    # Established connections (state 01) are not listeners.
    assert listening_ports(NET_TCP) == {31337: 8080, 4242: 6379}
    assert socket_inode("socket:[31337]") == 31337
    assert socket_inode("pipe:[31337]") is None
    assert socket_inode("/dev/null") is None


def test_postgres_backends_are_told_by_their_database() -> None:
    ours = ("tandem_bench_1a2b", "tandem_bench_1a2b_rasa")
    debian = "postgres: 15/main: postgres tandem_bench_1a2b_rasa 127.0.0.1(5123) idle"
    plain = "postgres: postgres tandem_bench_1a2b 127.0.0.1(5124) idle in transaction"
    assert is_backend_of(debian, ours)
    assert is_backend_of(plain.replace(" ", "\0", 1), ours)
    assert not is_backend_of(
        "postgres: 15/main: postgres test 127.0.0.1(5125) idle", ours
    )
    assert not is_backend_of("postgres: 15/main: checkpointer", ours)
    assert not is_backend_of("/usr/bin/python -m tandem_bench_1a2b", ours)


def test_the_first_bottleneck_is_a_saturated_process_before_the_machine() -> None:
    assert first_bottleneck({"rasa": 0.97, "handoff": 0.1}, 1.2, 2).startswith(
        "rasa (0.97"
    )
    machine = first_bottleneck({"rasa-1": 0.7, "rasa-2": 0.72}, 1.95, 2)
    assert machine.startswith("the machine's 2 cores")
    assert "rasa-2" in machine
    assert first_bottleneck({"rasa-1": 0.3}, 0.6, 2).startswith("none saturated")
    with pytest.raises(ValueError):
        first_bottleneck({}, 1.0, 2)


def test_process_names_group_into_kinds_in_table_order() -> None:
    assert process_kind("rasa-3") == "rasa"
    assert process_kind("rasa") == "rasa"
    assert process_kind("haproxy") == "haproxy"
    with pytest.raises(ValueError):
        process_kind("postgres")
    grouped = by_kind({"rasa-2": 2, "haproxy": 9, "rasa-1": 1, "load generator": 0})
    assert grouped == {
        "rasa": [("rasa-1", 1), ("rasa-2", 2)],
        "haproxy": [("haproxy", 9)],
    }


def test_machine_description_parts() -> None:
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n"
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"
    assert cpu_model("processor : 0\n") == "unknown CPU"
    assert memory_gib("MemTotal:       25165824 kB\nMemFree: 1 kB\n") == 24.0


def test_the_section_is_replaced_between_its_markers(tmp_path: Path) -> None:
    document = tmp_path / "benchmarks.md"
    document.write_text("# Benchmarks\n\n## Other\n\ntext\n", "utf-8")
    write_section("first run\n", document)
    write_section("second run\n", document)
    text = document.read_text("utf-8")
    assert text.count("## Clustered stack") == 1
    assert "first run" not in text
    assert f"{START_MARKER}\nsecond run\n{END_MARKER}" in text
    assert text.startswith("# Benchmarks\n\n## Other\n\ntext\n")
    # What is written by hand after the block stays.
    document.write_text(text + "\nA reading of the numbers.\n", "utf-8")
    write_section("third run\n", document)
    assert document.read_text("utf-8").endswith("A reading of the numbers.\n")


def test_this_process_is_found_by_the_port_it_listens_on() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        parent = times_of(os.getpid())
        assert parent is not None
        found = named_processes(parent.parent, {port: "me"})
    assert found["me"].pid == os.getpid()
    with pytest.raises(RuntimeError, match="nobody"):
        named_processes(parent.parent, {1: "nobody"})

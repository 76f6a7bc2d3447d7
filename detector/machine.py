"""The state of the box a figure was measured on, so that no figure is quoted from a busy one.

Cores, load average, and the CPU time other processes take (read from /proc/PID/stat,
excluding this process and its descendants), plus the facts to record beside every figure.
Used by `pinewatch bench` and the benchmarks' end-to-end runs.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector.cpu import cpu_model, int8_dot_product_flags

BUSY_CORE_FRACTION = 0.10  # others using more than this much of one core make a run unquotable
TOP_PROCESSES = 5

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def load_average() -> tuple[float, float, float]:
    return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _read_stat(pid: str) -> tuple[str, int, int] | None:
    """(comm, ppid, utime + stime ticks) of a process, or None if it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode(errors="replace")
    except OSError:
        return None
    # comm is in parentheses and may itself contain spaces or parentheses: split at the last ')'.
    head, _, rest = raw.rpartition(")")
    comm = head.partition("(")[2]
    fields = rest.split()
    try:
        return comm, int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime, stime
    except (IndexError, ValueError):
        return None


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) that process `pid` has used so far."""
    stat = _read_stat(str(pid))
    if stat is None:
        raise ProcessLookupError(f"cannot read /proc/{pid}/stat")
    return stat[2] / CLOCK_TICKS


def process_stats() -> dict[int, tuple[str, int, int]]:
    """pid -> (comm, ppid, CPU ticks so far) of every process that could be read."""
    stats: dict[int, tuple[str, int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _read_stat(entry)) is not None:
            stats[int(entry)] = stat
    return stats


def process_ticks(own_pid: int | None = None) -> dict[int, tuple[str, int]]:
    """CPU ticks used so far by every process except `own_pid` (default: us) and its descendants."""
    own_pid = os.getpid() if own_pid is None else own_pid
    stats = process_stats()
    own = {own_pid}
    changed = True
    while changed:  # descendants: pool workers, spawned helpers
        changed = False
        for pid, (_, ppid, _) in stats.items():
            if ppid in own and pid not in own:
                own.add(pid)
                changed = True
    return {pid: (comm, ticks) for pid, (comm, _, ticks) in stats.items() if pid not in own}


@dataclass(slots=True)
class OthersCpu:
    """CPU time other processes took across a contender's runs."""

    wall_s: float = 0.0
    ticks: dict[int, list] = field(default_factory=dict)  # pid -> [comm, ticks]

    def add(self, before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], wall_s: float) -> None:
        self.wall_s += wall_s
        for pid, (comm, ticks) in after.items():
            # A process born during the run counts from zero; one that died is lost (rare, small).
            delta = ticks - before.get(pid, (comm, 0))[1]
            if delta > 0:
                entry = self.ticks.setdefault(pid, [comm, 0])
                entry[1] += delta

    @property
    def core_fraction(self) -> float:
        """Cores' worth of CPU the others used: 0.25 = a quarter of one core."""
        return sum(t for _, t in self.ticks.values()) / CLOCK_TICKS / self.wall_s if self.wall_s else 0.0

    def top(self, count: int = TOP_PROCESSES) -> list[dict]:
        ranked = sorted(self.ticks.items(), key=lambda item: -item[1][1])[:count]
        return [
            {"pid": pid, "comm": comm, "core_fraction": round(ticks / CLOCK_TICKS / self.wall_s, 3)}
            for pid, (comm, ticks) in ranked if self.wall_s
        ]

    def as_dict(self) -> dict:
        return {
            "core_fraction": round(self.core_fraction, 3),
            "box_share": round(self.core_fraction / cores(), 3),
            "busy": self.core_fraction > BUSY_CORE_FRACTION,
            "wall_s": round(self.wall_s, 4),
            "top": self.top(),
        }


def sample_others(seconds: float) -> OthersCpu:
    """Others' CPU over `seconds` of idling here: the state of the box before anything runs."""
    others = OthersCpu()
    before, start = process_ticks(), time.perf_counter()
    time.sleep(seconds)
    others.add(before, process_ticks(), time.perf_counter() - start)
    return others


def machine_facts() -> dict:
    import onnxruntime

    try:
        memory_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    return {
        "host": platform.node(),
        "cpu": cpu_model(),
        "int8_dot_product": sorted(int8_dot_product_flags() or ()),
        "cores": cores(),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "load_average": load_average(),
        "busy_core_fraction_limit": BUSY_CORE_FRACTION,
    }

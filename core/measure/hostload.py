"""How much of the host's CPU other work used while a probe ran (Linux /proc; None elsewhere).

A CPU probe that shares its cores with another process can run 10–30× slower per step (torch's
threads wait for a core that is busy: measured on the 2-vCPU VM, BENCHMARKS.md "Contention"), and
a GPU probe starves when its feeding thread does. The probe records the average number of CPUs
that everything else kept busy during its timed window (hypervisor steal included), so a
contended measurement is labelled instead of trusted.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

PROC_STAT = Path("/proc/stat")


def busy_cpu_s(proc_stat: Path = PROC_STAT) -> float | None:
    """CPU-seconds all CPUs spent busy since boot (user, nice, system, irq, softirq, steal)."""
    try:
        fields = proc_stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


class HostLoad:
    """``begin()`` … ``end() -> other CPUs busy on average`` (None where /proc/stat is unreadable)."""

    def __init__(self, busy: Callable[[], float | None] = busy_cpu_s, own: Callable[[], float] = own_cpu_s,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._busy, self._own, self._clock = busy, own, clock
        self._start: tuple | None = None

    def begin(self) -> None:
        self._start = (self._busy(), self._own(), self._clock())

    def end(self) -> float | None:
        if self._start is None or self._start[0] is None:
            return None
        busy, own, now = self._busy(), self._own(), self._clock()
        elapsed = now - self._start[2]
        if busy is None or elapsed <= 0:
            return None
        others = (busy - self._start[0]) - (own - self._start[1])
        return max(others / elapsed, 0.0)

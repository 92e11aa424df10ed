"""How long a probe plan will take, before it starts: from how long the same probes took here before.

A probe's duration is measured from earlier runs: in one run, the results are stored one after the
other, so the time between a result and the one before it is everything that probe cost (its
process start, model build, warm-up, timed window and FLOP count). A probe never run here before
is estimated from the other probes on the same device (their time beyond the timed window), and,
with no history at all, from a stated rule. Each part of the total says which it is.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Sequence

NO_HISTORY_OVERHEAD_S = 20.0  # the rule with no history: process start, build, warm-up, FLOP count (estimate)
MAX_GAP_S = 3600.0  # a longer gap between two results of one run is not one probe's duration (a pause)


@dataclass(frozen=True)
class PlanDuration:
    """The estimated duration of a plan: ``total_s`` and the parts it is made of."""

    total_s: float
    from_same_probe: int  # probes timed by earlier runs of the same configuration here
    from_device: int  # probes estimated from other probes on the same device (the same model first)
    from_rule: int  # probes with no history on their device
    idle_s: float  # idle-power baselines (one per device, with meters on)

    def describe(self) -> str:
        parts = []
        if self.from_same_probe:
            parts.append(f"{self.from_same_probe} from earlier runs of the same probe here (measured)")
        if self.from_device:
            parts.append(f"{self.from_device} from other probes on the same device (estimated; the same model in "
                         "another precision where there is one)")
        if self.from_rule:
            parts.append(f"{self.from_rule} with no probe history on their device (estimated: "
                         f"{NO_HISTORY_OVERHEAD_S:g} s beyond the timed window)")
        if self.idle_s:
            parts.append(f"{self.idle_s:g} s of idle-power baseline")
        return "; ".join(parts)


def _key(identity: str | None, row: Mapping) -> tuple:
    return (identity, row.get("workload"), row.get("size"), row.get("precision"))


def probe_overheads_s(rows: Iterable[Mapping]) -> dict[tuple, list[float]]:
    """Per (device identity, workload, size, precision): each earlier probe's time beyond its timed window,
    from the gaps between consecutive results of one run (the first result of a run has no gap)."""
    by_run: dict[str, list[tuple[datetime, Mapping]]] = defaultdict(list)
    for row in rows:
        try:
            stamp = datetime.fromisoformat(str(row["created_at"]))
        except (KeyError, ValueError):
            continue
        by_run[row.get("run_id")].append((stamp, row))
    overheads: dict[tuple, list[float]] = defaultdict(list)
    for results in by_run.values():
        results.sort(key=lambda item: item[0])
        for (before, _), (after, row) in zip(results, results[1:]):
            gap_s = (after - before).total_seconds()
            window_s = float(row.get("seconds_requested") or 0)
            if 0 < gap_s <= MAX_GAP_S and gap_s >= window_s:
                overheads[_key(row.get("device_identity"), row)].append(gap_s - window_s)
    return overheads


def plan_duration(specs: Sequence, rows: Iterable[Mapping], identities: Mapping[str, str], *,
                  idle_seconds: float = 0.0) -> PlanDuration:
    """The plan's duration (``specs``: ProbeSpec or their dicts) from earlier results' flat rows.
    ``identities`` maps each device id of the plan to its identity (core.measure.backends.Device):
    history counts only from devices of the same identity (a CPU of another class is not this one)."""
    overheads = probe_overheads_s(rows)
    by_device: dict[str, list[float]] = defaultdict(list)
    by_workload: dict[tuple, list[float]] = defaultdict(list)  # the same model in another precision
    for (device, workload, size, _), values in overheads.items():
        by_device[device].extend(values)
        by_workload[(device, workload, size)].extend(values)
    total_s, same, device_based, rule = 0.0, 0, 0, 0
    devices = []
    for spec in specs:
        spec = spec if isinstance(spec, Mapping) else spec.to_dict()
        seconds = float(spec.get("seconds") or 0)
        identity = identities.get(spec.get("device"))
        devices.append(spec.get("device"))
        key = _key(identity, spec)
        if identity and overheads.get(key):
            total_s += statistics.median(overheads[key]) + seconds
            same += 1
        elif identity and by_workload.get(key[:3]):
            total_s += statistics.median(by_workload[key[:3]]) + seconds
            device_based += 1
        elif identity and by_device.get(identity):
            total_s += statistics.median(by_device[identity]) + seconds
            device_based += 1
        else:
            total_s += NO_HISTORY_OVERHEAD_S + seconds
            rule += 1
    idle_s = idle_seconds * len(set(devices))
    return PlanDuration(total_s + idle_s, same, device_based, rule, idle_s)

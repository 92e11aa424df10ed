"""Results summarised per configuration: what every speed, cost and CO2 view starts from, computed
once per machine (host) and kept in the store, so that a dashboard over a million results reads a
few hundred summaries instead of a million rows.

One definition, used by the store (``Store.host_summaries``) and by the dashboard for results that
are not in the store (bundled samples) or a selection of runs: :func:`summarise`. Pure Python, no
pandas: the CLI and the store use it too.

A configuration is a workload, size, precision, device (label and identity), host, batch size,
compile and memory format (CONFIG_KEYS), in one *scope*: single-device training, inference,
time-to-target, or a scaling job (several devices). Training configurations carry the medians of
their successful repeats; every scope carries its counts (what the filters offer).
"""

from __future__ import annotations

import statistics
from array import array
from itertools import repeat
from typing import Iterable, Mapping

from core.facts.rows import NO_IDENTITY
from core.views import notes

CONFIG_KEYS = ("workload", "size", "precision", "device_label", "device_identity", "host", "batch_size", "compile",
               "channels_last")
MEDIAN_COLUMNS = ("samples_per_s", "tokens_per_s", "step_time_s", "step_time_cv", "achieved_tflops", "j_per_sample",
                  "samples_per_kj", "avg_power_w", "j_per_tflop", "host_other_cpus")
LAST_COLUMNS = ("id", "device", "device_name", "device_kind", "precision_emulated", "energy_method", "energy_missing",
                "logical_cpus", "torch", "cpu", "gpu", "driver", "params")
# Every flat-row column a summary is computed from (core.facts.rows.flat_row names)
INPUT_COLUMNS = tuple(dict.fromkeys((*CONFIG_KEYS, "created_at", "status", "mode", "world_size", "energy_kind",
                                     "warmup_settled", "launch_id", *MEDIAN_COLUMNS, *LAST_COLUMNS)))

IDENTITY = 1 + CONFIG_KEYS.index("device_identity")  # its place in a group key (after the scope)
TRAIN, INFER, CONVERGE, SCALE = "train", "infer", "converge", "scale"
SCOPES = (TRAIN, INFER, CONVERGE, SCALE)


def scope_of(row: Mapping) -> str:
    """Which views a result belongs to: a scaling job's (world_size set), inference, time to target,
    else single-device training (a result without a mode is training)."""
    if _value(row.get("world_size")) is not None:
        return SCALE
    mode = row.get("mode")
    return mode if mode in (INFER, CONVERGE) else TRAIN


def _value(value):
    """A missing value as None (SQL NULL, a DataFrame's NaN or None)."""
    return None if isinstance(value, float) and value != value else value  # only a NaN is not equal to itself


def summarise(rows: Iterable[Mapping], floors: Mapping[tuple, tuple[float, str]] | None = None) -> dict:
    """The summary of flat rows (dicts with at least INPUT_COLUMNS; None or NaN for a missing value),
    in one pass that keeps only each configuration's numbers (a million rows of one machine cost
    their medians' floats, not the rows):

    ``configs``: one dict per (scope, configuration): CONFIG_KEYS, ``scope``, ``results`` (all
    statuses), ``failed`` (status other than ok), ``repeats`` (successful); for training also the
    medians of MEDIAN_COLUMNS over the successful repeats, ``energy_kind`` ("estimated" if any
    repeat's energy was estimated, else "measured" if any was measured), ``unsettled_repeats``,
    ``latest_id`` and LAST_COLUMNS of the newest successful repeat (created_at, then id),
    ``noisy_runs`` (repeats whose step-time CV is over NOISE_FLOOR_FACTOR × their machine's floor) and
    ``noisy_reason`` (the noisiest one's, core.views.notes).

    ``floors``: the noise floor of every machine (host, device kind) from its successful training
    results: ``noise_floor_cv``, ``noise_basis`` (core.views.notes.floor_of).

    ``launches``: the fleet launch ids present.

    ``floors`` ((host, device kind) -> (floor, basis)): the machines' floors from all their results,
    when ``rows`` are a selection of them (else the floors are of ``rows``). A result that did not
    record its device identity is grouped under NO_IDENTITY."""
    summariser = Summariser()
    for row in rows:
        summariser.add(row)
    return summariser.summary(floors)


class Summariser:
    """:func:`summarise` a row at a time: what a writer keeps while it writes a new machine's results,
    so that their summary is ready when they are (core.facts.store.Store.bulk_writer)."""

    def __init__(self) -> None:
        self.groups: dict[tuple, _Group] = {}
        self.launches: set = set()

    def add(self, row: Mapping) -> None:
        values = tuple(map(row.get, CONFIG_KEYS))
        if any(map(isinstance, values, repeat(float))):  # a DataFrame's NaN may stand for a missing one
            values = tuple(map(_value, values))
        key = (scope_of(row), *values)
        if key[IDENTITY] is None:
            key = (*key[:IDENTITY], NO_IDENTITY, *key[IDENTITY + 1:])
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(key[0] == TRAIN)
        group.add(row)
        launch = _value(row.get("launch_id"))
        if launch is not None:
            self.launches.add(launch)

    def summary(self, floors: Mapping[tuple, tuple[float, str]] | None = None) -> dict:
        """The summary of the rows added so far (see :func:`summarise`)."""
        machine_cvs: dict[tuple, array] = {}  # each machine's CVs: its training configurations' together
        for group in self.groups.values():
            for machine, cvs in group.machines.items():
                machine_cvs.setdefault(machine, array("d")).extend(cvs)
        own = {machine: notes.floor_of(statistics.median(cvs), len(cvs)) for machine, cvs in machine_cvs.items()}
        floors = own if floors is None else {**own, **floors}
        configs = [group.summary(key, floors) for key, group in sorted(self.groups.items(), key=_sort_key)]
        return {"configs": configs,
                "floors": [{"host": host, "device_kind": kind, "noise_floor_cv": floor, "noise_basis": basis}
                           for (host, kind), (floor, basis) in sorted(own.items(), key=_sort_key)],
                "launches": sorted(self.launches)}


def _sort_key(item) -> tuple:
    return tuple((v is None, str(v)) for v in item[0])


class _Group:
    """One configuration's running numbers: counts, each median column's values, the newest repeat."""

    def __init__(self, train: bool) -> None:
        self.train = train
        self.results = self.ok = self.unsettled = 0
        self.values = {column: array("d") for column in MEDIAN_COLUMNS} if train else {}
        self.energy_kinds: set = set()
        self.latest: tuple | None = None  # (created_at, id, the row) of the newest repeat
        self.machines: dict[tuple, array] = {}  # each machine's step-time CVs of these repeats

    def add(self, row: Mapping) -> None:
        self.results += 1
        if row.get("status") != "ok":
            return
        self.ok += 1
        if not self.train:
            return
        for column, values in self.values.items():
            value = row.get(column)
            if value is not None and value == value:  # not missing (None, a NaN)
                values.append(value)
        self.energy_kinds.add(row.get("energy_kind"))
        self.unsettled += row.get("warmup_settled") is False
        order = (str(row.get("created_at") or ""), str(row.get("id") or ""))
        if self.latest is None or order > self.latest[:2]:
            self.latest = (*order, row)  # its LAST_COLUMNS are read when the summary is made
        cv = _value(row.get("step_time_cv"))
        if cv is not None:
            machine = (_value(row.get("host")), _value(row.get("device_kind")))
            self.machines.setdefault(machine, array("d")).append(cv)

    def summary(self, key: tuple, floors: Mapping[tuple, tuple[float, str]]) -> dict:
        scope, *values = key
        out = {"scope": scope, **dict(zip(CONFIG_KEYS, values)), "results": self.results,
               "failed": self.results - self.ok, "repeats": self.ok}
        if not self.train or not self.ok:
            return out
        out.update({column: float(statistics.median(v)) if v else None for column, v in self.values.items()})
        kinds = self.energy_kinds
        out["energy_kind"] = "estimated" if "estimated" in kinds else "measured" if "measured" in kinds else None
        out["unsettled_repeats"] = self.unsettled
        latest = self.latest[2]
        out.update({("latest_id" if c == "id" else c): _value(latest.get(c)) for c in LAST_COLUMNS})
        noisy, worst = 0, None
        for machine, cvs in self.machines.items():
            floor, basis = floors.get(machine, (notes.NOISY_CV, ""))
            over = [cv for cv in cvs if notes.noisy_reason(cv, floor, basis) is not None]
            noisy += len(over)
            if over and (worst is None or max(over) > worst[0]):
                worst = (max(over), floor, basis)
        out["noisy_runs"] = noisy
        out["noisy_reason"] = notes.noisy_reason(*worst) if worst else None
        return out

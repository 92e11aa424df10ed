"""Each Present slide's one-sentence takeaway, computed from the very frames its chart draws.

Every figure in a sentence carries its label: ``measured`` (by a probe here), ``published`` (a
sourced external result), ``projected`` (a model's estimate, with its interval) or ``estimated``
(energy from a model, not a meter), right after the number, or after the phrase a ratio makes
("2.5× the speed of its fp32 run (measured)"). A ratio carries the weaker label of its two figures,
in the order measured < published < projected < estimated. A cost carries the label of the
throughput it was computed from (on own hardware, of its energy too): the price sheet it used is a
choice the slide names, not a measurement. When the data cannot support a claim, the sentence says
what is missing and how to get it, instead of a number.

Pure: DataFrames in (as dashboard.frames builds them), plain text out (not Markdown). No streamlit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from core.units import S_PER_H
from dashboard.fmt import compact, usd
from dashboard.frames import pareto_mask

KINDS = ("measured", "published", "projected", "estimated")  # most to least certain


@dataclass(frozen=True)
class Takeaway:
    """One slide's sentence (plain text). ``missing``: the data could not support a claim, and the
    sentence names what is missing instead."""

    text: str
    missing: bool = False


def weakest(*kinds: str | None) -> str:
    """The least certain of ``kinds`` (an unknown or missing kind counts as ``estimated``)."""
    return max((kind if kind in KINDS else "estimated" for kind in kinds), key=KINDS.index)


def times(ratio: float) -> str:
    """324×, 38×, 2.5×."""
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def duration(hours: float) -> str:
    """The unit a person would say: 141 days, 3.2 h, 14 min, 40 s."""
    if hours >= 48:
        return f"{hours / 24:,.0f} days" if hours >= 24 * 20 else f"{hours / 24:,.1f} days"
    if hours >= 1:
        return f"{hours:,.1f} h"
    return f"{hours * 60:,.0f} min" if hours * 60 >= 1 else f"{hours * 3600:,.0f} s"


def grams(g: float) -> str:
    """g CO2e: 96 g, 1.2 kg, 3.4 t."""
    if g >= 1e6:
        return f"{g / 1e6:.3g} t"
    return f"{g / 1e3:.3g} kg" if g >= 1e3 else f"{g:.3g} g"


def label(kind: str | None, low: str | None = None, high: str | None = None) -> str:
    """"(published)"; a projection with its interval: "(projected, 300×–600×)"."""
    kind = weakest(kind)
    return f"(projected, {low}–{high})" if kind == "projected" and low and high else f"({kind})"


def labelled(value: str, kind: str | None, low: str | None = None, high: str | None = None) -> str:
    """"324× (published)"; a projection with its interval: "503× (projected, 300×–600×)"."""
    return f"{value} {label(kind, low, high)}"


def span(low: str, high: str) -> str:
    """"3.5–11.1 days" when both ends have one unit, else "40 min–2.1 h"."""
    low_number, _, low_unit = low.rpartition(" ")
    high_number, _, high_unit = high.rpartition(" ")
    if low_number and high_number and low_unit == high_unit:
        return f"{low_number}–{high_number} {high_unit}"
    return f"{low}–{high}"


def _region(label: str) -> str:
    """"India (IND)" -> "India": the sentence has parentheses of its own."""
    return re.sub(r" \([A-Z0-9-]+\)$", "", str(label))


def _instance(row) -> str:
    """"aws p4d.24xlarge (us-east-1) with 8× A100 40GB"."""
    return f"{row['option']} with {row['accelerator_count']}× {row['accelerator']}"


def _who(row) -> str:
    """"the AMD EPYC · AVX-512-BF16 [cpu] in bf16" (with what tells two rows of one device apart)."""
    return f"the {row['device_label']}{row.get('variant') or ''} in {row['precision']}"


def _nothing_measured(workload: str, what: str) -> Takeaway:
    return Takeaway(f"Nothing was measured on {workload} in this selection, so there is no {what} to show: "
                    f"run a {workload} probe (Run probes, or python -m core probe) to fill this slide.", True)


def _usable(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.dropna(subset=[column]) if not frame.empty and column in frame else frame.iloc[0:0]


def speed(rows: pd.DataFrame, workload: str) -> Takeaway:
    """The fastest configuration measured on ``workload`` and how far ahead it is of the slowest
    (rows: the aggregated results of the workload, as the speed chart draws them)."""
    have = _usable(rows, "samples_per_s")
    if have.empty:
        return _nothing_measured(workload, "speed")
    ordered = have.sort_values("samples_per_s", ascending=False)
    top, low = ordered.iloc[0], ordered.iloc[-1]
    figure = labelled(f"{compact(top['samples_per_s'])} samples/s", "measured")
    if len(ordered) == 1:
        return Takeaway(f"On {workload}, {_who(top)} trains at {figure}; nothing else was measured on "
                        f"{workload} to compare it with.")
    same_device = (top["device_label"], top.get("variant")) == (low["device_label"], low.get("variant"))
    other = f"its {low['precision']} run" if same_device else _who(low)
    ratio = times(top["samples_per_s"] / low["samples_per_s"])
    return Takeaway(f"On {workload}, {_who(top)} is the fastest measured: {figure}, {ratio} the speed of {other} "
                    "(measured).")


def _headline(frame: pd.DataFrame, column: str, *, largest: bool, prefer_known: bool = True) -> pd.Series:
    """The row to name: with ``prefer_known``, the best measured or published one with no caveat;
    else (or when there is none) the best one with no caveat (a projection across vendors is too weak
    to headline); else the best one."""
    kind = frame["kind"] if "kind" in frame else pd.Series("projected", index=frame.index)
    caveat = frame["caveat"].notna() if "caveat" in frame else pd.Series(False, index=frame.index)
    known = frame[kind.isin(["measured", "published"]) & ~caveat] if prefer_known else frame.iloc[0:0]
    for pool in (known, frame[~caveat], frame):
        if not pool.empty:
            return pool.loc[pool[column].idxmax() if largest else pool[column].idxmin()]
    raise ValueError(f"no rows to choose a headline from ({column})")


def speedup(table: pd.DataFrame, baseline: dict | None, workload: str, precision: str) -> Takeaway:
    """How many times faster than the measured CPU the best-supported accelerator trains ``workload``
    (table: dashboard.frames.hardware_frame rows the speed-up chart draws; baseline: frames.cpu_baseline)."""
    if baseline is None:
        return Takeaway(f"No CPU was measured on {workload}, so there is nothing to compare accelerators with: "
                        f"measure the CPU on {workload} (Run probes, or python -m core probe) to fill this slide.",
                        True)
    have = _usable(table, "speedup")
    if have.empty:
        return Takeaway(f"No accelerator has a measured, published or projected throughput for {workload} in "
                        f"{precision}: add a published result (data/references) or measure one.", True)
    best = _headline(have, "speedup", largest=True)
    ratio = f"{times(best['speedup'])} faster {label(best['kind'], *_interval(best, 'speedup', times))}"
    cpu = labelled(f"{compact(baseline['samples_per_s'])} samples/s", "measured")
    device, _, cpu_precision = baseline["label"].rpartition(" · ")
    text = (f"The {best['accelerator']} trains {workload} in {precision} {ratio} than this CPU, "
            f"which runs it at {cpu} on the {device or baseline['label']}" + (f" in {cpu_precision}" if device else ""))
    top = have.loc[have["speedup"].idxmax()]
    if top["accelerator"] != best["accelerator"]:
        text += (f"; the {top['accelerator']} may reach "
                 f"{labelled(times(top['speedup']), top['kind'], *_interval(top, 'speedup', times))}")
    return Takeaway(text + ".")


def _interval(row, column: str, show) -> tuple[str | None, str | None]:
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return None, None
    return show(low), show(high)


def job(instances: pd.DataFrame, baseline: dict | None, workload: str, precision: str,
        samples: float) -> Takeaway:
    """The job's wall time on the measured CPU next to the fastest and the cheapest instance
    (instances: dashboard.frames.instance_frame rows the instance chart draws, with the job)."""
    cpu = None
    if baseline is not None:
        cpu = labelled(duration(samples / baseline["samples_per_s"] / S_PER_H), "measured")
    priced = _usable(_usable(instances, "hours_for_job"), "usd_for_job")
    job_text = f"Training {compact(samples)} samples of {workload}"
    if priced.empty:
        where = f"takes {cpu} on this CPU, but" if cpu else "has no CPU measurement to compare with, and"
        return Takeaway(f"{job_text} {where} no instance of this price sheet can be priced for it in {precision}: "
                        "pick another sheet or precision, or add a published result (data/references).", True)
    fastest = _headline(priced, "hours_for_job", largest=False, prefer_known=False)  # "fastest" and "cheapest"
    cheapest = _headline(priced, "usd_for_job", largest=False, prefer_known=False)  # are true of what is shown

    def time_and_money(row) -> str:
        """"1.3 h for $110.61 (published)": one throughput gives both, so one label; a projection
        also gives both intervals: "(projected: 3.5–11.1 days, $44.23–$139.58)"."""
        figures = f"{duration(row['hours_for_job'])} for {usd(row['usd_for_job'])}"
        if weakest(row["kind"]) == "projected" and row.get("high") and row.get("low"):
            slow, fast = row["samples_per_s_per_device"] / row["low"], row["samples_per_s_per_device"] / row["high"]
            hours = span(duration(row["hours_for_job"] * fast), duration(row["hours_for_job"] * slow))
            money = span(usd(row["usd_for_job"] * fast), usd(row["usd_for_job"] * slow))
            return f"{figures} (projected: {hours}, {money})"
        return f"{figures} {label(row['kind'])}"

    start = f"{job_text} takes {cpu} on this CPU but" if cpu else f"{job_text} takes"
    text = f"{start} {time_and_money(fastest)} on {_instance(fastest)}"
    if fastest["option"] == cheapest["option"]:
        text += ", the cheapest instance too"
    else:
        text += f"; the cheapest, {_instance(cheapest)}, takes {time_and_money(cheapest)}"
    if cpu is None:
        text += f" (no CPU was measured on {workload} to compare with)"
    return Takeaway(text + ".")


def efficiency(rows: pd.DataFrame, workload: str) -> Takeaway:
    """The most energy-efficient configuration measured on ``workload`` (samples per kJ), labelled by
    how its energy was obtained (rows: the aggregated results the efficiency chart draws)."""
    if _usable(rows, "samples_per_s").empty:
        return _nothing_measured(workload, "energy figure")
    have = _usable(rows, "samples_per_kj")
    if have.empty:
        reasons = rows["energy_missing"].dropna() if "energy_missing" in rows else pd.Series(dtype=object)
        reason = f" ({reasons.iloc[0]})" if not reasons.empty else ""
        return Takeaway(f"No energy reading for {workload} in this selection{reason}: measure on a machine whose "
                        "meter reads energy (NVML on NVIDIA GPUs, RAPL on Intel and AMD CPUs).", True)
    ordered = have.sort_values("samples_per_kj", ascending=False)
    best, worst = ordered.iloc[0], ordered.iloc[-1]
    figure = labelled(f"{compact(best['samples_per_kj'])} samples per kJ", best["energy_kind"])
    if len(ordered) == 1:
        return Takeaway(f"On {workload}, {_who(best)} trains {figure}; nothing else measured on {workload} has an "
                        "energy reading to compare it with.")
    ratio = times(best["samples_per_kj"] / worst["samples_per_kj"])
    same_device = (best["device_label"], best.get("variant")) == (worst["device_label"], worst.get("variant"))
    other = f"its {worst['precision']} run" if same_device else _who(worst)
    return Takeaway(f"On {workload}, {_who(best)} is the most energy-efficient measured: {figure}, {ratio} the "
                    f"work per kJ of {other} ({weakest(best['energy_kind'], worst['energy_kind'])}).")


def _cost_kind(row) -> str:
    """A cloud price × measured throughput is as good as the throughput; own hardware adds the
    electricity of its energy reading."""
    return weakest("measured", row["energy_kind"]) if row.get("kind") == "own" else "measured"


def cost(costs: pd.DataFrame, missing: pd.DataFrame | None, workload: str, sheet: str,
         measured: bool = True) -> Takeaway:
    """The cheapest and the dearest option shown for ``workload`` ($ per 1M samples; costs: the
    dashboard.frames.cost_frame rows the cost chart draws). ``measured``: the workload has measured
    results (else there is nothing to price)."""
    if not measured:
        return _nothing_measured(workload, "cost")
    have = _usable(costs, "usd_per_1m_samples")
    if have.empty:
        reasons = "; ".join(sorted(set(missing["reason"]))) if missing is not None and not missing.empty else ""
        return Takeaway(f"No price for {workload} on the {sheet} sheet" + (f": {reasons[:200]}" if reasons else "")
                        + ". Pick a sheet with the measured devices, or set a purchase price.", True)
    ordered = have.sort_values("usd_per_1m_samples")
    cheap, dear = ordered.iloc[0], ordered.iloc[-1]
    figure = f"{labelled(usd(cheap['usd_per_1m_samples']), _cost_kind(cheap))} per 1M samples"
    if len(ordered) == 1:
        return Takeaway(f"Training {workload} costs {figure} on {cheap['option']} in {cheap['precision']}, the "
                        f"only priced option on the {sheet} sheet.")
    ratio = times(dear["usd_per_1m_samples"] / cheap["usd_per_1m_samples"])
    return Takeaway(f"The cheapest way to train {workload} here is {cheap['option']} in {cheap['precision']}: "
                    f"{figure}, {ratio} less {label(weakest(_cost_kind(cheap), _cost_kind(dear)))} than "
                    f"{dear['option']} in {dear['precision']} at "
                    f"{labelled(usd(dear['usd_per_1m_samples']), _cost_kind(dear))}.")


def tradeoff(costs: pd.DataFrame, workload: str, measured: bool = True) -> Takeaway:
    """The options no other beats on both time and cost (the Pareto frontier the trade-off chart draws)."""
    if not measured:
        return _nothing_measured(workload, "trade-off")
    have = _usable(_usable(costs, "usd_per_1m_samples"), "seconds_per_1m_samples").reset_index(drop=True)
    if have.empty:
        return Takeaway(f"No priced option for {workload} to weigh time against cost: pick a price sheet that "
                        "has the measured devices.", True)
    front = have[pareto_mask(have["seconds_per_1m_samples"], have["usd_per_1m_samples"])]
    fastest = front.loc[front["seconds_per_1m_samples"].idxmin()]
    cheapest = front.loc[front["usd_per_1m_samples"].idxmin()]

    def figures(row) -> str:
        kind = _cost_kind(row)
        return (f"{labelled(duration(row['seconds_per_1m_samples'] / S_PER_H), 'measured')} and "
                f"{labelled(usd(row['usd_per_1m_samples']), kind)} per 1M samples")

    if fastest.name == cheapest.name:
        return Takeaway(f"{fastest['option']} in {fastest['precision']} is both the fastest and the cheapest "
                        f"option for {workload}: {figures(fastest)}; nothing shown beats it on either.")
    return Takeaway(f"{len(front)} options trade time for money on {workload}: the fastest, {fastest['option']} "
                    f"in {fastest['precision']}, takes {figures(fastest)}; the cheapest, {cheapest['option']} in "
                    f"{cheapest['precision']}, takes {figures(cheapest)}.")


def carbon(rows: pd.DataFrame, workload: str, measured: bool = True) -> Takeaway:
    """How much the grid changes the CO2 of the same training: the cleanest configuration's figure in
    the dirtiest and the cleanest region shown (rows: dashboard.frames.carbon_frame, as drawn)."""
    if not measured:
        return _nothing_measured(workload, "CO2 figure")
    have = _usable(rows, "g_co2_per_1m_samples")
    if have.empty:
        return Takeaway(f"No energy reading for {workload} in this selection, so no CO2 figure: measure on a "
                        "machine whose meter reads energy (NVML, RAPL), or with an estimating meter.", True)
    keys = ["device_label", "precision"]
    best_key = have.groupby(keys)["g_co2_per_1m_samples"].min().idxmin()
    series = have[(have["device_label"] == best_key[0]) & (have["precision"] == best_key[1])]
    dirty = series.loc[series["g_co2_per_1m_samples"].idxmax()]
    clean = series.loc[series["g_co2_per_1m_samples"].idxmin()]
    who = f"the {best_key[0]} in {best_key[1]}"
    kind = weakest(dirty["energy_kind"])
    if dirty["region"] == clean["region"]:
        return Takeaway(f"Training {workload} on {who} emits {labelled(grams(dirty['g_co2_per_1m_samples']), kind)} "
                        f"CO2e per 1M samples in {_region(dirty['region'])}.")
    ratio = times(dirty["g_co2_per_1m_samples"] / clean["g_co2_per_1m_samples"])
    return Takeaway(f"Training {workload} on {who} emits {labelled(grams(dirty['g_co2_per_1m_samples']), kind)} "
                    f"CO2e per 1M samples in {_region(dirty['region'])} but "
                    f"{labelled(grams(clean['g_co2_per_1m_samples']), kind)} in {_region(clean['region'])}: "
                    f"{ratio} as much for the same work ({kind}).")



# --- issue 15: serving and time to quality ----------------------------------------------------------

def _variant(row) -> str:
    return f"batch {int(row['batch_size'])}{', compiled' if row.get('compile') else ''}"


def inference(rows: pd.DataFrame, workload: str, bound_ms: float | None) -> Takeaway:
    """The lowest single-request latency and the highest throughput measured on ``workload``
    (rows: flat rows of its inference results, as the inference chart draws them)."""
    have = _usable(rows[rows["status"] == "ok"] if not rows.empty else rows, "step_time_p99_s")
    if have.empty:
        return Takeaway(f"No inference was measured on {workload} in this selection: run python -m core probe "
                        f"--mode infer --batch 1,8,64 on it to fill this slide.", True)
    fastest = have.sort_values("step_time_p99_s").iloc[0]
    busiest = have.sort_values("samples_per_s", ascending=False).iloc[0]
    answer = (f"On {workload}, the {fastest['device_label']} answers a request in "
              f"{labelled(f'{fastest.step_time_p99_s * 1e3:.3g} ms p99', 'measured')} in {fastest['precision']} at "
              f"{_variant(fastest)}")
    if bound_ms:
        answer += f", {'within' if fastest.step_time_p99_s * 1e3 <= bound_ms else 'over'} a {bound_ms:g} ms bound"
    if busiest["id"] == fastest["id"]:
        return Takeaway(answer + ".")
    return Takeaway(answer + f"; at {_variant(busiest)} the {busiest['device_label']} serves "
                    f"{labelled(f'{compact(busiest.samples_per_s)} inferences/s', 'measured')} at "
                    f"{busiest.step_time_p99_s * 1e3:.3g} ms p99.")


def serving(options: list, refused: list, workload: str, target_text: str, sheet: str) -> Takeaway:
    """The cheapest way to meet the serving target, or why nothing measured does."""
    if not options:
        measured_refusals = [r for r in refused if not r.configuration.endswith("(published)")]
        why = (measured_refusals or refused)[0].reason if refused else f"no inference was measured on {workload}"
        return Takeaway(f"Nothing measured or published on {workload} meets {target_text}: {why}.", True)
    best = options[0]
    where = "own hardware" if best.kind == "own" else f"{best.option}, {sheet} sheet, {best.kind}"
    if best.evidence == "published":
        device = best.configuration.split(" · ")[1].replace(" (published)", "")
        sentence = (f"Serving {workload} at {target_text} can cost {usd(best.usd_per_1m_inferences)} per 1M inferences "
                    f"(published: an MLPerf Inference {best.precision} Server figure on a vendor-tuned stack) on "
                    f"{best.replicas} × {device} at {where}")
        measured = next((o for o in options if o.evidence == "measured"), None)
        if measured is None:
            return Takeaway(sentence + "; nothing measured here meets it.")
        return Takeaway(sentence + f"; the cheapest measured here is {usd(measured.usd_per_1m_inferences)} (measured) "
                        f"on {measured.replicas} × the {measured.configuration.split(' · ')[1]}.")
    return Takeaway(f"Serving {workload} at {target_text} costs {usd(best.usd_per_1m_inferences)} per 1M inferences "
                    f"(measured latency and throughput) on {best.replicas} × the "
                    f"{best.configuration.split(' · ')[1]} ({best.precision}, batch {best.batch_size}"
                    f"{', compiled' if best.compile else ''}) at {where}.")


def _seconds(seconds: float) -> str:
    """0.918 s, 12.6 s, 14 min: short runs keep their decimals."""
    return f"{seconds:.3g} s" if seconds < 60 else duration(seconds / S_PER_H)


def quality(curves: list[dict], workload: str, target: float | None) -> Takeaway:
    """The fastest measured run to the target loss, and how much longer the slowest one took."""
    reached = sorted((c for c in curves if c["kind"] == "measured" and c.get("reached_s")),
                     key=lambda c: c["reached_s"])
    if not reached or target is None:
        return Takeaway(f"No measured run of {workload} reached its target loss in this selection: run python -m core "
                        "probe --mode converge --target-loss 0.05 on each device to fill this slide.", True)
    top, low = reached[0], reached[-1]
    figure = labelled(_seconds(top["reached_s"]), "measured")
    sentence = (f"The {top['label']} trains {workload} to loss {target:g} in {figure} in {top['precision']} "
                f"({top['steps_to_target']:,} steps)")
    if len(reached) == 1:
        return Takeaway(sentence + "; nothing else reached it to compare with.")
    other = f"its {low['precision']} run" if low["label"] == top["label"] else f"the {low['label']} in {low['precision']}"
    return Takeaway(sentence + f"; {other} takes {labelled(_seconds(low['reached_s']), 'measured')}, "
                    f"{times(low['reached_s'] / top['reached_s'])} as long (measured).")

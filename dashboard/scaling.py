"""Explore's Scaling view (issue 16): how a training job's throughput grows with the number of
devices (torch.distributed scaling probes), against the ideal line, and what 1M samples cost at
each size — more devices are faster, rarely cheaper. Pure frame work here; the page is below."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.views import pricing
from dashboard import charts, data, pipeline, state
from dashboard.fmt import MISSING, plain

SERIES_KEYS = ["workload", "size", "device_label", "precision", "strategy", "dist_backend", "run_id"]


def scaling_frame(rows: pd.DataFrame, sheet: pricing.PriceSheet, accelerators, spot: bool = False) -> pd.DataFrame:
    """One row per successful world size, with the ideal throughput (n × the run's world size 1)
    and $ per 1M samples on the sheet's cheapest matching option: a GPU job rents n accelerators,
    a CPU job the host's vCPUs (all its ranks share one host)."""
    ok = rows[(rows["status"] == "ok") & rows["world_size"].notna()] if not rows.empty else rows
    if ok.empty:
        return pd.DataFrame()
    out = []
    for _, series in ok.groupby(SERIES_KEYS, observed=True, dropna=False, sort=True):
        single = series[series["world_size"] == 1]["samples_per_s"]
        base = float(single.iloc[0]) if not single.empty else math.nan
        for row in series.sort_values("world_size").to_dict("records"):
            n = int(row["world_size"])
            kind = str(row["device_kind"])
            rate = float(row["samples_per_s"]) if kind == "cpu" else float(row["per_device_samples_per_s"])
            lines = pricing.cloud_costs(device_kind=kind, device_name=row["device_name"], samples_per_s=rate,
                                        vcpus_used=int(row["logical_cpus"]) if _known(row.get("logical_cpus")) else None,
                                        rows=sheet.rows, catalog=accelerators, spot=spot)
            priced = not isinstance(lines, pricing.NoPrice)
            out.append({**{key: row[key] for key in SERIES_KEYS}, "world_size": n,
                        "series": f"{row['workload']}/{row['size']} · {row['device_label']} · {row['precision']} · "
                                  f"{row['strategy']} · run {str(row['run_id'])[:8]}",
                        "samples_per_s": row["samples_per_s"], "per_device_samples_per_s": row["per_device_samples_per_s"],
                        # CPU ranks split one host's cores: n of them cannot beat one, so no ideal line
                        "ideal_samples_per_s": math.nan if kind == "cpu" else n * base,
                        "scaling_efficiency": row["scaling_efficiency"],
                        "comm_share": row["comm_share"], "interconnect": row["interconnect"],
                        "energy_j": row["energy_j"], "energy_kind": row["energy_kind"],
                        "usd_per_1m_samples": lines[0].usd_per_1m_samples if priced else math.nan,
                        "option": lines[0].option if priced else None,
                        "why_no_price": None if priced else lines.reason, "created_at": row["created_at"]})
    return pd.DataFrame(out)


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def show() -> None:
    """The Scaling view: the chart, then the table of every world size."""
    rows = pipeline.scaling_rows()
    sheet = pipeline.current_sheet()
    frame = scaling_frame(rows, sheet, data.accelerators(), bool(st.session_state.get(state.SPOT)))
    if frame.empty:
        st.info("No scaling results in the selection. Run `python -m core scale --workload mlp --size S --device cpu "
                "--nproc 1,2` (or `--device cuda --nproc 1,2,4,8` on a multi-GPU machine), then import the results "
                "on **Results**, or point the dashboard at the same store.")
        return
    st.plotly_chart(charts.scaling_chart(frame), theme=None)
    st.caption("Each line is one scaling run (torchrun, one result per world size). Dashed: the ideal, n × the "
               "same run's one-device throughput; the label is the scaling efficiency, throughput(n) ÷ (n × "
               "throughput(1)). Below, $ per 1M samples on the cheapest matching option of the "
               f"**{plain(st.session_state[state.SHEET])}** sheet: a GPU job rents n accelerators, a CPU job the "
               "host's vCPUs. Exposed communication is 1 − a step without DDP's all-reduce ÷ a step with it: the "
               "part of the all-reduce not hidden behind the backward pass. CPU ranks share one host's cores, so "
               "n of them cannot beat one: there is no ideal line for them, and their efficiency measures what "
               "splitting the cores costs.")
    st.dataframe(frame, hide_index=True, placeholder=MISSING, column_order=[
        "series", "world_size", "samples_per_s", "per_device_samples_per_s", "scaling_efficiency", "comm_share",
        "usd_per_1m_samples", "option", "energy_j", "interconnect", "why_no_price"], column_config={
        "series": st.column_config.TextColumn("run", width="medium"),
        "world_size": st.column_config.NumberColumn("devices"),
        "samples_per_s": st.column_config.NumberColumn("samples/s", format="%,.0f"),
        "per_device_samples_per_s": st.column_config.NumberColumn("per device", format="%,.0f"),
        "scaling_efficiency": st.column_config.NumberColumn("efficiency", format="percent"),
        "comm_share": st.column_config.NumberColumn("exposed communication", format="percent",
                                                     help="1 − no_sync step ÷ synced step: the all-reduce time not "
                                                          "hidden behind the backward pass"),
        "usd_per_1m_samples": st.column_config.NumberColumn("$ per 1M samples", format="$%.4g"),
        "option": st.column_config.TextColumn("cheapest option", width="medium"),
        "energy_j": st.column_config.NumberColumn("energy (J)", format="%.3g"),
        "interconnect": st.column_config.TextColumn("interconnect", width="medium"),
        "why_no_price": st.column_config.TextColumn("why no price", width="medium")})

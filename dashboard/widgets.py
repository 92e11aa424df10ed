"""Reusable Streamlit widgets: sidebar filters, pricing pickers, metric cards, the focus picker, and
``selection_or_stop`` that puts them in front of a page. The data they show comes from pipeline.py."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, pipeline, state
from dashboard.fmt import MISSING, compact, duration_h, plain, usd

FILTER_LABELS = {"workload": "Workload", "size": "Size", "precision": "Precision", "device_label": "Device",
                 "host": "Host", "run_id": "Run", "launch_id": "Fleet launch (instance type)"}


def selection_or_stop(stop: bool = True):
    """Sidebar filters and pricing, then the analysis of the selection: (agg, failed, matching,
    costs, missing). An empty selection says what to do and stops the page (``stop``: else the
    caller does, where a view needs training results; the others read results of their own)."""
    sidebar_filters()
    pricing_controls()
    agg, failed, matching = pipeline.current_analysis()
    if matching == 0 and stop:
        no_training_results()
    costs, missing = pipeline.current_costs()
    return agg, failed, matching, costs, missing


def no_training_results() -> None:
    st.info("No training results match the filters. Clear a filter in the sidebar, or run probes on **Run probes**.")
    st.stop()


def sidebar_filters() -> None:
    url = data.db_url()
    options = pipeline.filter_options(url, data.store_stamp(url), data.samples_stamp())
    st.sidebar.header("Filters")
    for key, label in FILTER_LABELS.items():
        choices = options[key]
        if key == "run_id":  # the newest runs, and any older one the session (or a link) chose
            choices, label = data.run_choices(choices, st.session_state.get(state.filter_key(key))), run_label()
        state.keep_known(key, choices)  # values that no longer exist (a deleted run) are dropped
        st.sidebar.multiselect(label, choices, key=state.filter_key(key), placeholder="all")


def run_label() -> str:
    return f"Run (the newest {data.RUN_CHOICES:,}; older ones by link)" if data.current().more_runs else "Run"


def settle_pricing() -> dict:
    """The sheet and grid region of the session, each replaced by a default when it does not exist
    here (a link from another deployment, a sheet of another session): returns the sheets."""
    sheets = data.all_sheets()
    state.choose(state.SHEET, list(sheets))  # the first bundled sheet
    state.choose(state.REGION, [r.key for r in data.grid_regions()], "USA")
    return sheets


def sheet_label(name: str) -> str:
    """A picker's label: "mycloud · team v3 by ann@example.com, 2026-11-27 08:13 UTC"."""
    return f"{name} · {data.sheet_origin(name)}"


def pricing_controls() -> None:
    sheets = settle_pricing()
    st.sidebar.header("Pricing and grid")
    st.sidebar.selectbox("Price sheet", list(sheets), key=state.SHEET, format_func=sheet_label,
                         help="Bundled cloud price sheets, the team's sheets (saved in the store on Hardware & "
                              "prices), and any you uploaded or edited in this browser session")
    regions = {r.key: r.label for r in data.grid_regions()}
    st.sidebar.selectbox("Grid region (CO2)", list(regions), key=state.REGION, format_func=lambda k: regions[k])
    st.sidebar.toggle("Spot prices", key=state.SPOT, help="Spot/preemptible instead of on-demand rates")


duration = duration_h  # 3.2 h, 14 min, 2.1 days: the unit a person would say (dashboard.fmt)

CARDS_KEY = "cards"  # the keyed container of a row of cards (Streamlit gives it the class st-key-cards)
# Cards wrap onto a second line instead of cutting their text: at 800 px beside the sidebar, three
# columns are 145 px wide and Streamlit's metric would end "$0.000…".
CARDS_CSS = """<style>
[class*="st-key-cards"] [data-testid="stHorizontalBlock"] {flex-wrap: wrap !important; row-gap: 0.75rem;}
[class*="st-key-cards"] [data-testid="stColumn"] {min-width: 12rem !important; flex: 1 1 12rem !important;}
[class*="st-key-cards"] [data-testid="stMetricLabel"], [class*="st-key-cards"] [data-testid="stMetricLabel"] *,
[class*="st-key-cards"] [data-testid="stMetricValue"], [class*="st-key-cards"] [data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere;}
[class*="st-key-cards"] [data-testid="stMetricValue"] {font-size: 1.8rem !important; line-height: 1.2;}
</style>"""


def card_row(count: int, key: str = CARDS_KEY) -> list:
    """``count`` columns for cards, in a container whose cards wrap rather than cut at narrow widths."""
    st.markdown(CARDS_CSS, unsafe_allow_html=True)
    return st.container(key=key).columns(count)


def hardware_choice(agg: pd.DataFrame) -> tuple[list[str], str, list[str], str]:
    """The workloads one can compare on every accelerator (those with published references first,
    then the measured ones of the selection) and the chosen one, its precisions and the chosen
    one — a value from the URL that is not among them is replaced, before anything uses it."""
    configs = list(dict.fromkeys([*pipeline.reference_workloads(), *sorted(agg["config"].unique())]))
    config = state.choose(state.HARDWARE_CONFIG, configs)
    precisions = pipeline.reference_precisions(config)
    return configs, config, precisions, state.choose(state.HARDWARE_PRECISION, precisions)


def hardware_question(agg: pd.DataFrame, job: bool = True) -> tuple[str, str, float]:
    """Workload, precision on the accelerators and (with ``job``) the job's samples: the question
    asked of every accelerator in Speed-up, Cost and Present."""
    configs, _, precisions, _ = hardware_choice(agg)
    columns = st.columns(3 if job else 2)
    config = columns[0].selectbox("Workload", configs, key=state.HARDWARE_CONFIG,
                                  help="Workloads with published results first (data/references), then yours")
    precision = columns[1].selectbox("Precision on the accelerators", precisions, key=state.HARDWARE_PRECISION,
                                     help="Ordered by how many published results exist for the workload")
    samples = float(st.session_state.get(state.JOB_SAMPLES) or 1)
    if job:
        samples = float(columns[2].number_input("Job: samples to train on", min_value=1, step=1_000_000,
                                                key=state.JOB_SAMPLES,
                                                help="Default: 90 epochs of ImageNet-1k (1,281,167 images)"))
    return config, precision, samples


def cross_vendor_warning(table: pd.DataFrame) -> None:
    """Name the accelerators projected from another vendor's points (core.views.projection caveat)."""
    extrapolated = sorted(set(table.loc[table["caveat"].notna(), "accelerator"]))
    if extrapolated:
        st.warning(f"Projected across vendors, with no published or measured point from their maker: "
                   f"{plain(', '.join(extrapolated))}. Their figures are rough estimates (wider than the interval shows); "
                   "measure one, or add a published result to data/references, before renting on them.")


def unpriced_reasons(table: pd.DataFrame, what: str) -> None:
    """Rows without a figure, each with its reason, in an expander that says how many."""
    if not table.empty:
        with st.expander(f"{len(table)} {what}"):
            st.dataframe(table, hide_index=True)


def job_claim_cards(claims: dict, samples: float) -> None:
    """The job on the measured CPU vs the fastest and the cheapest instance, each labelled by kind."""
    cards = card_row(3, "cards_job")
    cpu, fastest, cheapest = claims["cpu"], claims["fastest"], claims["cheapest"]
    if cpu:
        cards[0].metric("On the measured CPU", duration(cpu["hours"]))
        cards[0].caption(f"{plain(cpu['label'])} · measured")
    else:
        cards[0].metric("On a CPU", "not measured")
        cards[0].caption("run `python -m core probe` with this workload to compare")
    for card, title, claim in ((cards[1], "Fastest instance", fastest), (cards[2], "Cheapest instance", cheapest)):
        if claim is None:
            card.metric(title, "no price")
            continue
        value = duration(claim["hours"]) if title.startswith("Fastest") else usd(claim["usd"])
        card.metric(title, value)
        card.caption(f"{plain(claim['label'])} · {claim['kind']} throughput · {duration(claim['hours'])}, "
                     f"{usd(claim['usd'])} for {compact(samples)} samples")


def _noisy_note(row) -> str:
    noisy = int(row.get("noisy_runs") or 0) if hasattr(row, "get") else 0
    return f" · ⚠ noisy ({noisy} of {int(row['repeats'])} runs)" if noisy else ""


def metric_cards(agg: pd.DataFrame, costs: pd.DataFrame) -> None:
    """Fastest, cheapest and most efficient configuration of ``agg`` (one workload: samples of
    different workloads are not comparable, so the caller passes the workload its charts show)."""
    cards = card_row(3)
    if agg.empty:
        for card, label in zip(cards, ("Fastest", "Cheapest", "Most efficient")):
            card.metric(label, MISSING)
        return
    fastest = agg.loc[agg["samples_per_s"].idxmax()]
    cards[0].metric("Fastest", f"{compact(fastest['samples_per_s'])} samples/s")
    cards[0].caption(plain(f"{fastest['device_label']} · {fastest['precision']} · {fastest['config']}")
                     + plain(_noisy_note(fastest)))
    if costs.empty:
        cards[1].metric("Cheapest per 1M samples", "no price")
        cards[1].caption("the price sheet has no instance with these devices")
    else:
        cheapest = costs.loc[costs["usd_per_1m_samples"].idxmin()]
        cards[1].metric("Cheapest per 1M samples", usd(cheapest["usd_per_1m_samples"]))
        cards[1].caption(plain(f"{cheapest['option']} · {cheapest['precision']} · {cheapest['config']}"))
    with_energy = agg.dropna(subset=["samples_per_kj"])
    if with_energy.empty:
        cards[2].metric("Most efficient", "no energy reading")
        cards[2].caption(plain(f"no result of {agg['config'].iloc[0]} measured its energy"))
    else:
        best = with_energy.loc[with_energy["samples_per_kj"].idxmax()]
        estimated = best["energy_kind"] == "estimated"
        cards[2].metric("Most efficient" + (" (estimated)" if estimated else ""),
                        f"{compact(best['samples_per_kj'])} samples/kJ")
        cards[2].caption(plain(f"{best['device_label']} · {best['precision']} · {best['config']}"))


def speedup_cards(table: pd.DataFrame, baseline: dict | None) -> None:
    """What the speed-up chart shows, as cards: the measured CPU, and the fastest accelerator whose
    figure is measured or published next to the fastest projected one."""
    cards = card_row(3)
    if baseline is None:
        cards[0].metric("Your CPU", "not measured")
        cards[0].caption("run a probe of this workload on the CPU to compare accelerators with it")
    else:
        cards[0].metric("Your CPU", f"{compact(baseline['samples_per_s'])} samples/s")
        cards[0].caption(plain(f"{baseline['label']} · measured"))
    have = table.dropna(subset=["speedup"]) if not table.empty else table
    for card, title, kinds in ((cards[1], "Fastest, measured or published", ("measured", "published")),
                               (cards[2], "Fastest projected", ("projected",))):
        group = have[have["kind"].isin(kinds)] if not have.empty else have
        if group.empty:
            card.metric(title, MISSING)
            card.caption("no accelerator with such a figure for this workload")
            continue
        best = group.loc[group["speedup"].idxmax()]
        card.metric(title, f"{best['speedup']:,.0f}× the CPU" if best["speedup"] >= 10 else
                    f"{best['speedup']:,.1f}× the CPU")
        interval = (f" (interval {best['speedup_low']:,.0f}–{best['speedup_high']:,.0f}×)"
                    if best["kind"] == "projected" and pd.notna(best["speedup_low"]) else "")
        card.caption(plain(f"{best['accelerator']} · {best['kind']}{interval}"))


def noisy_badges(runs: pd.DataFrame, limit: int = 8) -> None:
    """A "noisy" badge and its reason for each run whose step-time CV is over twice its machine's noise
    floor (frames.with_noise), the first ``limit`` of them."""
    noisy = runs.dropna(subset=["noisy_reason"]) if not runs.empty else runs
    if noisy.empty:
        return
    for row in noisy.head(limit).to_dict("records"):
        when = str(row.get("created_at") or "")[:16].replace("T", " ")
        st.markdown(f":orange-badge[:material/warning: noisy] {plain(row['row_label'])} · {plain(row['precision'])}, "
                    f"{plain(when)}: {plain(row['noisy_reason'])}.")
    if len(noisy) > limit:
        st.caption(f"… and {len(noisy) - limit} more noisy run(s): the Results page lists each one.")


def focus_picker(agg: pd.DataFrame, label: str = "Workload", where=None) -> pd.DataFrame:
    """The one workload the cards and charts show (samples of different workloads are not
    comparable): a picker over the workloads of the selection; returns that workload's rows."""
    configs = sorted(agg["config"].unique()) if not agg.empty else []
    if not configs:
        return agg
    state.choose(state.FOCUS, configs)
    (where or st).selectbox(label, configs, key=state.FOCUS, width=320,
                            help="Samples of different workloads are not comparable: the cards and the chart "
                                 "below are for this one")
    return agg[agg["config"] == st.session_state[state.FOCUS]]


def log_toggle(where=None) -> bool:
    """Value axes on a log scale: off by default (a bar's length is its value from zero)."""
    return bool((where or st).toggle("Log scale", key=state.LOG_SCALE,
                                     help="Value axes start at zero by default, so a bar's length is its value. "
                                          "A log scale shows small and large values together, but a bar's length "
                                          "then no longer compares; the axis title says so."))

"""Present: one chart per slide, large type, prev/next, exports; the slide is in the URL."""

import streamlit as st

from dashboard import charts, export, frames, pipeline, state, widgets
from dashboard.fmt import plain

st.markdown("""<style>
h1 {font-size: 3rem !important;}
[data-testid="stMetricValue"] {font-size: 2.6rem;}
[data-testid="stMetricLabel"] p {font-size: 1.05rem;}
</style>""", unsafe_allow_html=True)

agg, _, _, costs, missing = widgets.selection_or_stop()
focus_config = state.choose(state.FOCUS, sorted(agg["config"].unique()))
focus = agg[agg["config"] == focus_config]
focus_costs = costs[costs["config"] == focus_config] if not costs.empty else costs
comparison = pipeline.comparison_regions()
_, hardware_config, _, hardware_precision = widgets.hardware_choice(agg)
job_samples = float(st.session_state.get(state.JOB_SAMPLES) or 1)


def hardware_speedup_figure():
    table, baseline = pipeline.hardware_speedups(agg, hardware_config, hardware_precision)
    return charts.hardware_speedup_chart(table, baseline, f"{hardware_config} {hardware_precision}", big=True)


def job_instances():
    return frames.instance_frame(pipeline.instance_costs(hardware_config, hardware_precision), job_samples)


SLIDES = [
    ("How fast does it train?", lambda: charts.speed_chart(agg, big=True)),
    ("How much faster than a CPU?", hardware_speedup_figure),
    ("Hours on a CPU, minutes on a GPU",
     lambda: charts.instance_cost_chart(job_instances(), f"{hardware_config} {hardware_precision}", big=True)),
    ("How much energy per unit of work?", lambda: charts.efficiency_chart(agg, big=True)),
    (f"What does 1M samples cost? ({focus_config})", lambda: charts.cost_chart(focus_costs, missing, big=True)),
    (f"Time vs cost ({focus_config})", lambda: charts.tradeoff_chart(focus_costs, big=True)),
    (f"CO2 by grid region ({focus_config})", lambda: charts.carbon_chart(frames.carbon_frame(focus, comparison), big=True)),
]

slide = state.choose(state.SLIDE, range(len(SLIDES)),
                     min(max(int(st.session_state.get(state.SLIDE) or 0), 0), len(SLIDES) - 1))
prev_col, title_col, next_col = st.columns([1, 8, 1], vertical_alignment="center")
if prev_col.button("◀ Prev", disabled=slide == 0, use_container_width=True):
    st.session_state[state.SLIDE] = slide - 1
    st.rerun()
if next_col.button("Next ▶", disabled=slide == len(SLIDES) - 1, use_container_width=True):
    st.session_state[state.SLIDE] = slide + 1
    st.rerun()
st.session_state[state.SLIDE] = slide
state.save_query_params()

heading, make_figure = SLIDES[slide]
title_col.title(heading)
st.caption(f"Slide {slide + 1} of {len(SLIDES)} · the URL holds this view: copy it to reopen it.")
HARDWARE_SLIDES = (1, 2)  # about one workload on every accelerator: its picker and the job's claims
if slide in HARDWARE_SLIDES:
    widgets.hardware_question(agg, job=slide == 2)
    if slide == 2:
        widgets.job_claim_cards(frames.job_claims(agg, job_instances(), hardware_config, job_samples), job_samples)
elif slide >= 4:  # cost, trade-off and carbon slides are about one workload: so are their numbers
    widgets.metric_cards(focus, focus_costs)
else:
    widgets.metric_cards(agg, costs)
figure = make_figure()
st.plotly_chart(figure, theme=None)

with st.expander("Export"):
    left, middle, right = st.columns(3)
    for column, fmt in ((left, "png"), (middle, "svg")):
        if column.button(f"Prepare {fmt.upper()}", key=state.prepare_key(fmt)):
            try:
                st.session_state[state.export_key(fmt)] = (slide, export.figure_image(figure, fmt))
            except export.ExportUnavailable as exc:
                column.error(plain(exc))
        prepared = st.session_state.get(state.export_key(fmt))
        if prepared and prepared[0] == slide:
            column.download_button(f"Download {fmt.upper()}", prepared[1], f"accelscope-slide-{slide + 1}.{fmt}",
                                   f"image/{'svg+xml' if fmt == 'svg' else 'png'}", key=state.download_key(fmt))
    right.download_button("Download the deck (HTML)", export.deck_html([(h, make()) for h, make in SLIDES]),
                          "accelscope-deck.html", "text/html")

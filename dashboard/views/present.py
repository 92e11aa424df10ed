"""Present: a deck for a room. One question per slide, the sentence the data supports, one chart in
projector type; the workload (and precision) picked on the slide; ← and → step between slides (the
buttons' shortcuts); no sidebar. Slide, workload and precision are in the URL."""

import streamlit as st

from core.errors import InvalidCostSettings
from core.views.serving import ServingTarget
from dashboard import export, frames, inference, pipeline, room, slides, state, widgets
from dashboard.fmt import plain


def serving_and_quality(infer_rows, infer_configs: list[str], quality_configs: list[str]) -> dict:
    """The serving slides' and the time-to-target slide's data (slides.DeckData's last fields)."""
    out = {}
    if infer_configs:
        served = state.choose(state.INFER_CONFIG, infer_configs)
        rows = infer_rows[frames.config_of(infer_rows) == served]
        try:
            target = ServingTarget(float(st.session_state[state.SERVING_P99_MS]),
                                   float(st.session_state[state.SERVING_RPS]))
            options, refused = pipeline.serving(target, rows, served)
            text = f"p99 ≤ {target.p99_ms:g} ms at {target.requests_per_s:,g} requests/s"
        except InvalidCostSettings as exc:
            options, refused, text, target = [], [], str(exc), None
        out.update(infer_workload=served, inference=rows, serving_target_ms=target.p99_ms if target else None,
                   serving_text=text, serving_options=tuple(options), serving_refused=tuple(refused))
    if quality_configs:
        trained = state.choose(state.QUALITY_CONFIG, quality_configs)
        measured = pipeline.converge_curves(trained)
        targets = sorted({c["target_loss"] for c in measured if c["target_loss"] is not None})
        chosen = [c for c in measured if targets and c["target_loss"] == targets[0]]
        projected, _ = pipeline.projected_curves(trained, chosen)
        out.update(quality_workload=trained, quality_target=targets[0] if targets else None,
                   curves=tuple(inference.shaded(chosen) + projected))
    return out


def step(by: int) -> None:
    """Previous / Next (and their shortcuts, ← and →): run before the page, so it draws the new slide."""
    st.session_state[state.SLIDE] = int(st.session_state.get(state.SLIDE) or 0) + by


st.html(room.PAGE_CSS)  # hides the sidebar (and its controls) on this page only

# The sidebar's filters and prices still apply: drawn (hidden), so the session keeps them for the other pages.
widgets.sidebar_filters()
widgets.pricing_controls()
agg, _, _ = pipeline.current_analysis()
costs, missing = pipeline.current_costs()
workloads, workload, precisions, precision = widgets.hardware_choice(agg)

slide = state.choose(state.SLIDE, range(len(slides.HEADINGS)),
                     min(max(int(st.session_state.get(state.SLIDE) or 0), 0), len(slides.HEADINGS) - 1))
previous_column, heading_column, next_column = st.columns([1.7, 6.6, 1.7], vertical_alignment="center")
previous_column.button("◀ Previous", key=state.PREVIOUS_SLIDE, shortcut="Left", disabled=slide == 0, width="stretch",
                       on_click=step, args=(-1,))
next_column.button("Next ▶", key=state.NEXT_SLIDE, shortcut="Right", disabled=slide == len(slides.HEADINGS) - 1,
                   width="stretch", on_click=step, args=(1,))
heading_column.title(slides.HEADINGS[slide])

SERVING_SLIDES = (slides.INFERENCE, slides.SERVING)
infer_rows = pipeline.inference_rows()
infer_configs = pipeline.inference_configs(infer_rows)
quality_configs = pipeline.converge_configs()
pickers = st.columns([3, 2.2, 2.5, 2.3] if slide in (*slides.PRECISION_SLIDES, *SERVING_SLIDES) else [3, 7])
if slide in SERVING_SLIDES and infer_configs:
    state.choose(state.INFER_CONFIG, infer_configs)
    pickers[0].selectbox("Workload served", infer_configs, key=state.INFER_CONFIG)
    pickers[1].number_input("p99 bound (ms)", min_value=1, max_value=600_000, step=1, key=state.SERVING_P99_MS)
    pickers[2].number_input("Requests per second", min_value=1, max_value=1_000_000_000, step=50,
                            key=state.SERVING_RPS)
elif slide == slides.QUALITY and quality_configs:
    state.choose(state.QUALITY_CONFIG, quality_configs)
    pickers[0].selectbox("Workload trained to a target", quality_configs, key=state.QUALITY_CONFIG)
else:
    pickers[0].selectbox("Workload", workloads, key=state.HARDWARE_CONFIG,
                         help="Workloads with published results first (data/references), then those measured here")
if slide in slides.PRECISION_SLIDES:
    pickers[1].selectbox("Precision on the accelerators", precisions, key=state.HARDWARE_PRECISION,
                         help="Ordered by how many published results exist for the workload")
if slide == slides.JOB:
    pickers[2].number_input("Job: samples to train on", min_value=1, step=1_000_000, key=state.JOB_SAMPLES,
                            help="Default: 90 epochs of ImageNet-1k (1,281,167 images)")
state.save_query_params()

samples = float(st.session_state.get(state.JOB_SAMPLES) or 1)
measured = agg[agg["config"] == workload] if not agg.empty else agg
speedups, baseline = pipeline.hardware_speedups(agg, workload, precision)
data = slides.DeckData(
    workload=workload, precision=precision, samples=samples, sheet=st.session_state[state.SHEET],
    measured=slides.for_room(measured),
    costs=costs[costs["config"] == workload] if not costs.empty else costs,
    missing=missing[missing["config"] == workload] if not missing.empty else missing,
    speedups=speedups, baseline=baseline,
    instances=frames.instance_frame(pipeline.instance_costs(workload, precision), samples),
    carbon=frames.carbon_frame(measured, pipeline.comparison_regions()),
    **serving_and_quality(infer_rows, infer_configs, quality_configs))
shown = slides.build(data, slide)

with st.container(key=room.TAKEAWAY_MISSING_KEY if shown.missing else room.TAKEAWAY_KEY):
    st.markdown(plain(shown.takeaway))
st.plotly_chart(shown.figure, theme=None, config={"displayModeBar": False, "displaylogo": False})

chosen_filters = [f"{widgets.FILTER_LABELS[key].lower()} {', '.join(map(str, values))}"
                  for key, values in pipeline.current_filters() if values]
provenance = (f"Prices: {st.session_state[state.SHEET]} sheet, "
              f"{'spot' if st.session_state.get(state.SPOT) else 'on-demand'} · grid {st.session_state[state.REGION]}"
              + (f" · filters: {'; '.join(chosen_filters)}" if chosen_filters else ""))
# One row that wraps: on a narrow window the link goes under the text instead of being cut to "Leave Prese"
with st.container(key=room.FOOTER_KEY, horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
    st.markdown(plain(" · ".join(part for part in (f"Slide {slide + 1} of {len(slides.HEADINGS)}", "← → to move",
                                                   shown.note, provenance) if part)), width="content")
    st.page_link("views/explore.py", label="Leave Present", icon=":material/close:")

with st.expander("Export"):
    left, middle, right = st.columns(3)
    view = (slide, workload, precision, samples, pipeline.current_filters(), provenance)
    for column, fmt in ((left, "png"), (middle, "svg")):
        if column.button(f"Prepare {fmt.upper()}", key=state.prepare_key(fmt)):
            try:
                image = export.figure_image(room.slide_image_figure(shown.figure, shown.heading, shown.takeaway),
                                            fmt, room.EXPORT_WIDTH_PX, room.EXPORT_HEIGHT_PX)
                st.session_state[state.export_key(fmt)] = (view, image)
            except export.ExportUnavailable as exc:
                column.error(plain(exc))
        prepared = st.session_state.get(state.export_key(fmt))
        if prepared and prepared[0] == view:
            column.download_button(f"Download {fmt.upper()}", prepared[1], f"accelscope-slide-{slide + 1}.{fmt}",
                                   f"image/{'svg+xml' if fmt == 'svg' else 'png'}", key=state.download_key(fmt))
    # Built when clicked, on the download's own thread: from the frames gathered above, with pure functions only.
    right.download_button("Download the deck (HTML)",
                          lambda: export.deck_html(slides.build_all(data), f"Accelscope: {workload}", provenance),
                          f"accelscope-deck-{workload.replace('/', '-')}.html", "text/html", key=state.DECK_DOWNLOAD,
                          on_click="ignore")

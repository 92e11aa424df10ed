"""A chart for a room: the slide figures restyled so that the back row of a meeting room can read them on
a 1920×1080 projector (chart text ≥ 18 px, titles ≥ 28 px), the rows a slide has room for, and the
Present page's own CSS. The charts of every other page are left as charts.py draws them: these
functions take a figure and return a restyled copy. Pure: no streamlit here.

The same styling serves the Present page, its PNG/SVG exports (drawn at 1920×1080, so a pixel of
the exported image is a pixel on the projector) and the offline HTML deck.
"""

from __future__ import annotations

import html
import textwrap

import pandas as pd
import plotly.graph_objects as go

TEXT_PX = 20  # tick labels, legend, bar labels, annotations: above the 18 px a room needs
AXIS_TITLE_PX = 22
TITLE_PX = 32  # the chart's title: above the 28 px a room needs
MIN_TEXT_PX = 18
MIN_TITLE_PX = 28
INK = "#1b1f27"  # near-black: a projector washes out greys
SLIDE_HEIGHT_PX = 680  # the chart on the Present page, below its heading, takeaway and pickers, at 1080 px
EXPORT_WIDTH_PX, EXPORT_HEIGHT_PX = 1920, 1080
MAX_ROWS = 12  # bars a slide can show at TEXT_PX without squeezing them
# Keys of the Present page's containers that PAGE_CSS styles (Streamlit gives a keyed container the class st-key-<key>)
TAKEAWAY_KEY = "present_takeaway"
TAKEAWAY_MISSING_KEY = "present_takeaway_missing"  # the sentence names what is missing
FOOTER_KEY = "present_footer"


def slide_image_figure(fig: go.Figure, heading: str, takeaway: str, width_px: int = EXPORT_WIDTH_PX) -> go.Figure:
    """A slide as one image: its heading as the title, the takeaway under it (wrapped to the width),
    then the chart, whose own title joins the takeaway's last line. For the PNG/SVG export, which a
    person drops into their own deck without the page around it."""
    out = go.Figure(fig)
    per_line = max(40, int(width_px / (TEXT_PX * 0.5)))  # about half an em per character
    lines = textwrap.wrap(takeaway, per_line) or [""]
    chart_title = out.layout.title.text or ""
    lines = [html.escape(line) for line in lines] + ([f"<i>{html.escape(chart_title)}</i>"] if chart_title else [])
    out.update_layout(title={"text": html.escape(heading), "subtitle": {"text": "<br>".join(lines),
                                                                        "font": {"size": TEXT_PX, "color": INK}}},
                      margin_t=int(TITLE_PX * 2 + len(lines) * TEXT_PX * 1.4 + 20))
    return out


def room_figure(fig: go.Figure, height: int | None = SLIDE_HEIGHT_PX) -> go.Figure:
    """A copy of ``fig`` for a projector: every text at least TEXT_PX, the title TITLE_PX, near-black
    ink, the title at the top left and the legend at the bottom, each keeping its own margin (plotly's
    container references), bar labels never shrunk below MIN_TEXT_PX. ``height`` None: the figure
    fills its container (the HTML deck's slide)."""
    out = go.Figure(fig)
    out.update_layout(
        font={"size": TEXT_PX, "color": INK},
        title={"font": {"size": TITLE_PX, "color": INK}, "x": 0.01, "xanchor": "left", "xref": "container",
               "y": 0.99, "yanchor": "top", "yref": "container", "automargin": True},
        legend={"orientation": "h", "font": {"size": TEXT_PX}, "xref": "paper", "x": 0, "xanchor": "left",
                "yref": "container", "y": 0.01, "yanchor": "bottom", "title": {"font": {"size": TEXT_PX}}},
        hoverlabel={"font": {"size": MIN_TEXT_PX}},
        uniformtext={"minsize": MIN_TEXT_PX, "mode": "show"},
        margin={"t": 20, "l": 20, "r": 60, "b": 20, "pad": 4},
        height=height, width=None, autosize=True,
    )
    axis = {"tickfont": {"size": TEXT_PX}, "title": {"font": {"size": AXIS_TITLE_PX}}, "automargin": True}
    out.update_xaxes(**axis, nticks=8)  # fewer, larger tick labels: none turned sideways to fit
    out.update_yaxes(**axis)
    above = 0.0  # how far annotations reach above the plot area (subplot titles, "No energy for …")
    for annotation in out.layout.annotations:  # … and an empty figure's message
        annotation.font.size = max(annotation.font.size or 0, TEXT_PX)
        if _grey_or_unset(annotation.font.color):  # a projector washes grey out; a colour that means something stays
            annotation.font.color = INK
        if annotation.yref and "paper" in annotation.yref and (annotation.y or 0) >= 1:
            above = max(above, (annotation.y - 1) * (height or SLIDE_HEIGHT_PX) * 0.7 + 1.6 * TEXT_PX)
    if above:  # the title sits in the container's top margin: above those annotations, not over them
        out.update_layout(margin_t=int(above + 1.8 * TITLE_PX))
    for trace in out.data:
        if "textfont" in trace:
            trace.textfont.size = max(trace.textfont.size or 0, TEXT_PX)
        if trace.type == "bar":
            trace.constraintext = "none"  # a bar's label keeps its size, not the bar's thickness
    return out


def _grey_or_unset(color: str | None) -> bool:
    """True for no colour or a mid grey ("#555", "#999", "gray", "rgb(120,120,120)"); not for black or
    white (text on a dark bar), nor for a colour."""
    if not color:
        return True
    text = color.strip().lower().replace(" ", "")
    if text in ("gray", "grey", "darkgray", "darkgrey", "dimgray", "dimgrey", "lightgray", "lightgrey"):
        return True
    channels: list[int] = []
    if text.startswith("#") and len(text) in (4, 7):
        digits = text[1:] if len(text) == 7 else "".join(ch * 2 for ch in text[1:])
        channels = [int(digits[i:i + 2], 16) for i in (0, 2, 4)]
    elif text.startswith(("rgb(", "rgba(")):
        channels = [int(float(part)) for part in text[text.index("(") + 1:-1].split(",")[:3]]
    return len(set(channels)) == 1 and 0x30 <= channels[0] <= 0xE0


def top_rows(frame: pd.DataFrame, column: str, *, largest: bool, limit: int = MAX_ROWS) -> pd.DataFrame:
    """The ``limit`` rows with the largest (or smallest) ``column``, rows without a value left out:
    what a slide has room for. The page says how many there were (``rows_note``)."""
    values = pd.to_numeric(frame[column], errors="coerce").dropna()  # a column of None and floats is object
    return frame.loc[values.sort_values(ascending=not largest, kind="stable").index[:limit]]


def rows_note(shown: int, total: int, what: str, order: str, where: str) -> str:
    """"The 12 fastest of 21 accelerators with a figure; all 21 on Explore › Speed-up." ('' when all show)."""
    if shown >= total:
        return ""
    return f"The {shown} {order} of {total} {what}; all {total} on {where}."


PAGE_CSS = f"""<style>
/* Present only: this style element goes when the page does. No sidebar, no header on a projector. */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarCollapseButton"], [data-testid="stHeader"] {{display: none !important;}}
[data-testid="stMainBlockContainer"] {{padding: 1.25rem 2.5rem 1rem 2.5rem !important; max-width: none !important;}}
[data-testid="stMain"] h1 {{font-size: 3rem !important; line-height: 1.15 !important; padding: 0 !important;
  color: {INK};}}
.st-key-{TAKEAWAY_KEY} p, .st-key-{TAKEAWAY_MISSING_KEY} p {{font-size: 1.9rem !important; line-height: 1.35 !important;
  color: {INK} !important; font-weight: 500; margin: 0;}}
.st-key-{TAKEAWAY_MISSING_KEY} {{border-left: 6px solid #F58518; padding-left: 14px;}}
[data-testid="stMain"] [data-testid="stWidgetLabel"] p {{font-size: 1.2rem !important; color: {INK} !important;}}
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input {{font-size: 1.3rem !important;
  color: {INK} !important;}}
[data-testid="stMain"] .stButton button p {{font-size: 1.4rem !important;}}
[data-testid="stMain"] .stButton button kbd, [data-testid="stMain"] .stButton button span {{font-size: 1.2rem;}}
.st-key-{FOOTER_KEY} p, .st-key-{FOOTER_KEY} a, .st-key-{FOOTER_KEY} span {{font-size: 1.2rem !important;
  color: #30343c !important;}}
[data-testid="stMain"] [data-testid="stExpander"] summary p {{font-size: 1.2rem !important;}}
@media (max-width: 1100px) {{  /* a laptop window, not a projector: buttons keep their words */
  [data-testid="stMain"] h1 {{font-size: 2.2rem !important;}}
  .st-key-{TAKEAWAY_KEY} p, .st-key-{TAKEAWAY_MISSING_KEY} p {{font-size: 1.4rem !important;}}
  [data-testid="stMain"] .stButton button p {{font-size: 1rem !important;}}
  [data-testid="stMain"] .stButton button kbd {{display: none;}}
  [data-testid="stMain"] input {{font-size: 1rem !important;}}
  [data-testid="stMain"] .js-plotly-plot .gtitle {{font-size: 24px !important;}}
}}
</style>"""

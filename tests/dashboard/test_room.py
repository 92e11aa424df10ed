"""The room's styling of a slide figure (pure): every chart text at least 18 px and the title at least
28 px, on a copy, so the same chart on every other page keeps its own type; and the rows a slide has room for."""

import json
import math

import pandas as pd
from plotly.subplots import make_subplots

from dashboard import room
from dashboard.room import rows_note, top_rows


def test_a_slide_figure_is_restyled_for_a_room_and_the_original_is_left_alone():
    fig = make_subplots(rows=1, cols=2, subplot_titles=["J per 1k samples", "average power, W"])
    fig.add_bar(y=["cpu"], x=[3.0], orientation="h", text=["3"], textfont={"size": 9}, row=1, col=1)
    fig.add_scatter(x=[1, 2], y=[3, 4], mode="text", text=["a", "b"], row=1, col=2)
    fig.add_annotation(text="No energy for: mlp/S", x=0, y=1.12, xref="paper", yref="paper", showarrow=False,
                       font={"size": 11, "color": "#777"})
    fig.add_annotation(text="warning", x=1, y=0, xref="paper", yref="paper", font={"color": "#E45756"})
    fig.update_layout(title="Efficiency", font={"size": 13}, height=400)
    before = json.loads(fig.to_json())

    slide = room.room_figure(fig)
    assert json.loads(fig.to_json()) == before, "the chart of every other page is not touched"
    layout = slide.layout
    assert layout.title.font.size >= room.MIN_TITLE_PX and layout.height == room.SLIDE_HEIGHT_PX
    assert min(layout.font.size, layout.legend.font.size) >= room.MIN_TEXT_PX
    for axis in (layout.xaxis, layout.xaxis2, layout.yaxis, layout.yaxis2):
        assert axis.tickfont.size >= room.MIN_TEXT_PX and axis.title.font.size >= room.MIN_TEXT_PX
    assert all(a.font.size >= room.MIN_TEXT_PX for a in layout.annotations)
    colours = {a.text: a.font.color for a in layout.annotations}
    assert colours["No energy for: mlp/S"] == room.INK and colours["warning"] == "#E45756"  # grey darkened only
    assert layout.margin.t > 2 * room.TITLE_PX, "the title is put above the subplot titles, not over them"
    assert all(trace.textfont.size >= room.MIN_TEXT_PX for trace in slide.data)
    assert slide.data[0].constraintext == "none" and layout.uniformtext.minsize == room.MIN_TEXT_PX
    assert room.room_figure(fig, height=None).layout.height is None  # the deck: the chart fills its screen


def test_a_slide_shows_at_most_twelve_rows_and_says_how_many_it_left_out():
    frame = pd.DataFrame({"speedup": [float(v) for v in range(20)] + [math.nan]})
    shown = top_rows(frame, "speedup", largest=True)
    assert list(shown["speedup"])[:2] == [19.0, 18.0] and len(shown) == 12
    assert rows_note(len(shown), 20, "accelerators with a figure", "fastest", "Explore › Speed-up") == (
        "The 12 fastest of 20 accelerators with a figure; all 20 on Explore › Speed-up.")
    assert rows_note(5, 5, "x", "fastest", "y") == ""


def test_an_exported_slide_image_carries_its_heading_and_takeaway():
    import plotly.graph_objects as go

    from dashboard import room

    chart = go.Figure(go.Bar(x=[1, 2], y=["a", "b"], orientation="h"), layout={"title": {"text": "Speed: cnn/M"}})
    sentence = "The <H200> trains cnn/M 300× faster (published) than this CPU, " * 5
    image = room.slide_image_figure(chart, "How much faster than a CPU?", sentence)
    assert image.layout.title.text == "How much faster than a CPU?"
    subtitle = image.layout.title.subtitle.text
    assert "&lt;H200&gt;" in subtitle and "<H200>" not in subtitle  # text, never markup
    assert subtitle.count("<br>") >= 2 and subtitle.endswith("<i>Speed: cnn/M</i>")
    assert image.layout.margin.t > 100 and chart.layout.title.text == "Speed: cnn/M"  # the original is untouched

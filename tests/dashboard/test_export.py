"""Static exports: PNG/SVG through kaleido and the system Chromium; the deck as offline HTML."""

import plotly.graph_objects as go
import pytest

from dashboard import export


def figure():
    return go.Figure(go.Bar(x=["cpu", "cuda:0"], y=[1.0, 40.0]), layout={"title": "Speed"})


@pytest.mark.skipif(export.find_browser() is None, reason="no Chromium for kaleido (apt-get install chromium)")
@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_chart_exports_as_an_image(fmt, magic):
    data = export.figure_image(figure(), fmt, width=640, height=360)
    assert magic in data[:200]


def test_missing_browser_says_what_to_install(monkeypatch):
    monkeypatch.setattr(export, "find_browser", lambda: None)
    with pytest.raises(export.ExportUnavailable, match="apt-get install chromium"):
        export.figure_image(figure(), "png")


def test_deck_is_one_offline_html_file():
    html = export.deck_html([("First slide", figure()), ("Second <slide>", figure())])
    assert html.count("<section>") == 2
    assert "Second &lt;slide&gt;" in html
    assert html.count("plotly.js v") == 1 and "<script src=" not in html  # embedded once, no CDN script

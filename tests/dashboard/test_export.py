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


def test_deck_is_one_offline_html_file_of_real_slides():
    """One <section> per slide, each with its heading, takeaway and counter; plotly.js embedded once, no
    CDN; the keys that step through a deck on a projector's clicker (arrows, PageUp/PageDown, Space)."""
    html = export.deck_html([export.Slide("First slide", figure(), "A takeaway (measured).", "note"),
                             ("Second <slide>", figure())], footer="Prices: aws sheet")
    assert html.count('<section class="slide"') == 2
    assert "Second &lt;slide&gt;" in html and "A takeaway (measured)." in html
    assert "1 / 2" in html and "2 / 2" in html and "Prices: aws sheet" in html
    assert html.count("plotly.js v") == 1 and "<script src=" not in html  # embedded once, no CDN script
    assert "<link" not in html  # no stylesheet or font fetched either (plotly.js itself names URLs it never loads)
    for key in ("'ArrowRight'", "'ArrowLeft'", "'PageDown'", "'PageUp'", "event.key === ' '"):
        assert key in html, key

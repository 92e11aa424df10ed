"""Static exports: a chart as PNG/SVG (plotly + kaleido with the system Chromium) and the deck as
one standalone HTML file (plotly.js embedded, so it opens offline). No streamlit here."""

from __future__ import annotations

import html
import os
import shutil

import plotly.graph_objects as go
import plotly.io as pio

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class ExportUnavailable(RuntimeError):
    pass


def find_browser() -> str | None:
    if os.environ.get("BROWSER_PATH"):
        return os.environ["BROWSER_PATH"]
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def figure_image(fig: go.Figure, fmt: str = "png", width: int = 1600, height: int = 900) -> bytes:
    """PNG or SVG bytes of a figure. Raises ExportUnavailable with what to install."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"format must be png or svg, not {fmt!r}")
    browser = find_browser()
    if browser is None:
        raise ExportUnavailable("image export needs Chromium or Chrome (kaleido drives it): "
                                "`apt-get install chromium`, or set BROWSER_PATH")
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        return pio.to_image(fig, format=fmt, width=width, height=height, scale=1)
    except Exception as exc:  # kaleido/Chromium failure: say so instead of crashing the page
        raise ExportUnavailable(f"image export failed: {exc}") from exc


def deck_html(slides: list[tuple[str, go.Figure]], title: str = "Accelscope") -> str:
    """All slides in one HTML page; plotly.js is embedded once so the file works offline."""
    parts = []
    for index, (heading, fig) in enumerate(slides):
        body = pio.to_html(fig, full_html=False, include_plotlyjs=(index == 0), default_width="100%",
                           default_height="85vh")
        parts.append(f'<section><h1>{html.escape(heading)}</h1>{body}</section>')
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;margin:0}section{min-height:100vh;padding:2vh 3vw;"
            "box-sizing:border-box;page-break-after:always}h1{font-size:2.4rem;margin:0 0 1vh}</style></head><body>"
            + "".join(parts) + "</body></html>")

"""Static exports: a chart as PNG/SVG (plotly + kaleido with the system Chromium) and the deck as
one standalone HTML file of real slides (plotly.js embedded once, so it opens offline). No streamlit here."""

from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass
from typing import Sequence

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


@dataclass(frozen=True, eq=False)
class Slide:
    """One slide, on the Present page and in the HTML deck: its heading, its chart (room-styled, see
    dashboard.room), the takeaway sentence its data supports (plain text), a note (rows left out), and
    ``missing``: the takeaway names what is missing instead of a claim."""

    heading: str
    figure: go.Figure
    takeaway: str = ""
    note: str = ""
    missing: bool = False


DECK_CSS = """
html, body {margin: 0; height: 100%; overflow: hidden; background: #fff; color: #1b1f27;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;}
.slide {position: fixed; inset: 0; display: flex; flex-direction: column; box-sizing: border-box;
  padding: 2.5vh 3vw 1.5vh; visibility: hidden;}
.slide.current {visibility: visible;}
h1 {font-size: clamp(28px, 4.4vh, 56px); line-height: 1.15; margin: 0 0 1.2vh;}
.takeaway {font-size: clamp(20px, 2.8vh, 36px); line-height: 1.35; font-weight: 500; margin: 0 0 1.5vh;}
.takeaway.missing {border-left: 6px solid #F58518; padding-left: 14px;}
.chart {flex: 1 1 0; min-height: 0; position: relative;}
.chart > div {position: absolute; inset: 0;}
.chart .plotly-graph-div {width: 100%; height: 100%;}
footer {display: flex; justify-content: space-between; align-items: center; gap: 2vw;
  font-size: clamp(16px, 1.9vh, 24px); color: #30343c; padding-top: 1vh;}
.counter {white-space: nowrap; font-variant-numeric: tabular-nums; font-weight: 600;}
.counter button {font: inherit; border: 1px solid #b8bcc4; background: #fff; color: inherit; border-radius: 6px;
  padding: 0.1em 0.6em; margin: 0 0.4em; cursor: pointer;}
.counter button:disabled {opacity: 0.35; cursor: default;}
@media print {html, body {overflow: visible; height: auto;}
  .slide {position: relative; visibility: visible; height: 100vh; break-after: page;} .counter button {display: none;}}
"""

# ←/→, PageUp/PageDown, Space (Shift+Space back), Home/End and the footer's buttons move between
# slides; #3 in the address opens slide 3. Keys typed into a form field are left alone.
DECK_JS = """(() => {
  const slides = Array.from(document.querySelectorAll('section.slide'));
  let current = 0;
  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach((slide, i) => {
      slide.classList.toggle('current', i === current);
      slide.setAttribute('aria-hidden', i === current ? 'false' : 'true');
    });
    try { history.replaceState(null, '', '#' + (current + 1)); } catch (error) { /* a sandboxed file */ }
  }
  const NEXT = ['ArrowRight', 'ArrowDown', 'PageDown'], PREVIOUS = ['ArrowLeft', 'ArrowUp', 'PageUp'];
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    let to = null;
    if (event.key === ' ') to = current + (event.shiftKey ? -1 : 1);
    else if (NEXT.includes(event.key)) to = current + 1;
    else if (PREVIOUS.includes(event.key)) to = current - 1;
    else if (event.key === 'Home') to = 0;
    else if (event.key === 'End') to = slides.length - 1;
    if (to === null) return;
    event.preventDefault();
    show(to);
  });
  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-step]');
    if (!button) return;
    show(current + Number(button.dataset.step));
    button.blur();  // Space on a focused button would step twice
  });
  window.addEventListener('hashchange', () => show((parseInt(location.hash.slice(1), 10) || 1) - 1));
  show((parseInt(location.hash.slice(1), 10) || 1) - 1);
  // Each chart was drawn while the page was still being read (its footer not there yet): fit it to its box now.
  if (window.Plotly) document.querySelectorAll('.plotly-graph-div').forEach((chart) => Plotly.Plots.resize(chart));
})();"""


def deck_html(slides: Sequence[Slide | tuple[str, go.Figure]], title: str = "Accelscope", footer: str = "") -> str:
    """The slides as one standalone HTML file: one slide per screen, ←/→, PageUp/PageDown and Space
    between them, a counter, the takeaway on each; plotly.js embedded once, so it opens offline (no CDN,
    no network). ``footer``: a line every slide carries (where the prices and results came from)."""
    slides = [item if isinstance(item, Slide) else Slide(*item) for item in slides]
    total = len(slides)
    parts = []
    for index, slide in enumerate(slides):
        figure = go.Figure(slide.figure)
        figure.update_layout(height=None, width=None, autosize=True)  # the chart fills its screen
        chart = pio.to_html(figure, full_html=False, include_plotlyjs=(index == 0), default_width="100%",
                            default_height="100%", div_id=f"chart-{index + 1}",
                            config={"responsive": True, "displaylogo": False, "displayModeBar": False})
        takeaway = (f'<p class="takeaway{" missing" if slide.missing else ""}">{html.escape(slide.takeaway)}</p>'
                    if slide.takeaway else "")
        note = " · ".join(html.escape(text) for text in (slide.note, footer) if text)
        first, last = " disabled" if index == 0 else "", " disabled" if index == total - 1 else ""
        counter = (f'<button type="button" data-step="-1" aria-label="Previous slide"{first}>◀</button>'
                   f'{index + 1} / {total}<button type="button" data-step="1" aria-label="Next slide"{last}>▶</button>')
        parts.append(f'<section class="slide" aria-roledescription="slide" aria-label="Slide {index + 1} of {total}">'
                     f'<h1>{html.escape(slide.heading)}</h1>{takeaway}<div class="chart">{chart}</div>'
                     f'<footer><span class="note">{note}</span><span class="counter">{counter}</span></footer>'
                     '</section>')
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{DECK_CSS}</style></head><body><main>"
            + "".join(parts) + f"</main><script>{DECK_JS}</script></body></html>")

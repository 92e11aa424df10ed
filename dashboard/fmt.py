"""Pure number formatters for the dashboard's cards and captions (no streamlit here)."""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd

MISSING = "—"  # what a table or card shows for a figure that does not exist (never "None", never 0)


def compact(value: float) -> str:
    """12,345,678 -> 12.3M; 328,972 -> 329k; 41.23 -> 41.2; 0.0000689 -> 6.89e-05."""
    for threshold, divisor, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= threshold:
            return f"{value / divisor:.3g}{suffix}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def usd(value: float) -> str:
    """Dollars with enough decimals to show three significant digits of small amounts."""
    if value >= 0.01 or value <= 0:
        return f"${value:,.2f}"
    decimals = -math.floor(math.log10(value)) + 2
    return f"${value:.{decimals}f}"


def missing(value) -> bool:
    """None, NaN, pandas' NA or NaT: a figure that does not exist."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array is not one missing figure
        return False


def percent(value: float | None, digits: int = 1) -> str:
    """0.317 -> 31.7%; None -> —."""
    return MISSING if missing(value) else f"{value * 100:.{digits}f}%"


def duration_h(hours: float | None) -> str:
    """3.2 h, 14 min, 2.1 days, 40 s: the unit a person would say."""
    if missing(hours):
        return MISSING
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    if hours >= 1:
        return f"{hours:,.1f} h"
    if hours * 60 >= 1:
        return f"{hours * 60:,.0f} min"
    return f"{hours * 3600:,.0f} s"


def break_even(hours: float | None, why: str | None, hours_per_year: float, lifetime_years: float,
               today: dt.date) -> str:
    """When buying the device beats renting this option, as a date (from ``today``, using it
    ``hours_per_year``), or "never, because …" / "unknown: …" with the reason."""
    if missing(hours):
        return why or "never, because renting is always cheaper"
    years = hours / hours_per_year
    if years > lifetime_years:
        return (f"never within the device's {lifetime_years:g}-year life, because it takes {hours:,.0f} h of use "
                f"({years:,.1f} years)")
    when = today + dt.timedelta(days=round(years * 365.25))
    return f"{when.isoformat()} (after {hours:,.0f} h of use)"


# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped, and each one is
# special somewhere (links [](), emphasis * _ ~, code `, HTML < > &, headings #, lists - + . ), tables |,
# GFM autolinks : / @ . , Streamlit's :red[...] / :material/...: directives and emoji shortcodes : ,
# LaTeX $ ...). Escaping all of them is the one rule that cannot miss a case.
_MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# GFM's literal autolinks (http://…, https://…, www.…, name@host) are found in the text *after* escapes
# are resolved (remark-gfm's autolink transform), so escaping cannot stop them: an invisible WORD JOINER
# (U+2060) between the scheme or "www" and what follows, and before an "@", does.
WORD_JOINER = "\u2060"
_AUTOLINK_START = re.compile(r"(?i)(https?(?=:)|www(?=\.)|(?<=[-.\w+])(?=@))")


def plain(text: object) -> str:
    """``text`` for a Markdown element (st.error, st.warning, st.caption...) shown exactly as written:
    every ASCII punctuation character is backslash-escaped and literal autolinks are broken by an
    invisible word joiner, so an exception's or a user's text can never become a link, an image,
    emphasis, a colour or icon directive, or LaTeX. Nothing else changes (letters, digits, spaces,
    line breaks, non-ASCII are kept as they are)."""
    unlinked = _AUTOLINK_START.sub(lambda m: m.group(0) + WORD_JOINER, str(text))
    return "".join("\\" + ch if ch in _MARKDOWN_PUNCTUATION else ch for ch in unlinked)

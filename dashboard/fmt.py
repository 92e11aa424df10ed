"""Pure number formatters for the dashboard's cards and captions (no streamlit here)."""

from __future__ import annotations

import math
import re


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

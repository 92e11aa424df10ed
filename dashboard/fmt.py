"""Pure number formatters for the dashboard's cards and captions (no streamlit here)."""

from __future__ import annotations

import math


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

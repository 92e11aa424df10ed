"""Helpers of the dashboard tests: what a Markdown body made with ``dashboard.fmt.plain`` reads as on
the page (``as_shown``), a SQLite store made read-only (``read_only``) and a price sheet with one
chosen cell (``sheet_with``)."""

import csv
import io
import os
import re
from pathlib import Path

from dashboard.fmt import WORD_JOINER

REPO = Path(__file__).resolve().parents[2]


def as_shown(markdown: str) -> str:
    """Backslash escapes undone, invisible word joiners dropped: the text a person reads."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")


def read_only(monkeypatch, path: Path) -> None:
    """Make the SQLite file ``path`` read-only (chmod 0o444). Tests run as root here, where permissions
    do not stop a write and os.access(W_OK) is True for any file, so os.access is also told what a
    non-root user would see; the store then opens the file with SQLite's mode=ro, for real."""
    path.chmod(0o444)
    real_access = os.access

    def access(target, mode, *args, **kwargs):
        if mode & os.W_OK and Path(target).resolve() == path.resolve():
            return False
        return real_access(target, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def sheet_with(column: str, value: str) -> bytes:
    """lambda.csv with ``value`` in ``column`` of its first row (every other cell valid)."""
    rows = list(csv.DictReader(io.StringIO((REPO / "data/price_sheets/lambda.csv").read_text(encoding="utf-8"))))
    rows[0][column] = value
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()

"""Error text is shown as text: ``fmt.plain`` escapes what Markdown and Streamlit would act on, so a
rejected price sheet's cell such as ``[click](http://evil.example)`` is shown as written, never as a link."""

import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.fmt import WORD_JOINER, plain
from tests.dashboard.helpers import as_shown, sheet_with

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
EVIL_CELLS = {"note": '=HYPERLINK("http://evil.example","x")', "source_url": "[click](http://evil.example)"}


def test_plain_escapes_every_ascii_punctuation_character_and_keeps_everything_else():
    assert plain(string.punctuation) == "".join("\\" + ch for ch in string.punctuation)
    assert plain("Grüße, 2 × 3 → ✓\nnext line") == "Grüße\\, 2 × 3 → ✓\nnext line"
    assert as_shown(plain(":red[x] :material/home: $x^2$ **b** <b>")) == ":red[x] :material/home: $x^2$ **b** <b>"


@pytest.mark.parametrize("text", ["see http://evil.example/a", "HTTPS://evil.example", "www.evil.example",
                                  "mail ann@example.com"])
def test_plain_breaks_every_literal_autolink_invisibly(text):
    """GFM finds these in the text after escapes are resolved: a word joiner, not a backslash, stops it."""
    shown = plain(text)
    assert WORD_JOINER in shown and as_shown(shown) == text
    unescaped = shown.replace("\\", "").lower()  # the text GFM looks for links in
    assert "http://" not in unescaped and "https://" not in unescaped and "www." not in unescaped
    assert not re.search(r"[-.\w+]@", unescaped), "an email's local part runs into its @"


@pytest.mark.parametrize("column", list(EVIL_CELLS))
def test_a_rejected_sheet_cell_is_shown_as_text_not_as_a_link(column, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{tmp_path / 'plain.db'}")
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/hardware.py").run()
    at.get("file_uploader")[0].set_value(("evil.csv", sheet_with(column, EVIL_CELLS[column]), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert "](" not in error and "http://" not in error and "http://" not in error.replace("\\", "")
    assert f"column '{column}'" in as_shown(error) and EVIL_CELLS[column][:40] in as_shown(error)

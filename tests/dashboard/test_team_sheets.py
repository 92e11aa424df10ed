"""Team price sheets: kept in the store as versions (Store.save_price_sheet / price_sheets /
price_sheet_history), validated whole before anything is written, refused by a store that cannot be
written; on Hardware & prices an editor saves one for the team, and a link to it opens it for anyone."""

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core.errors import InvalidPriceSheet, StoreError
from core.facts.store import Store
from core.views import pricing
from dashboard import frames, state
from tests.dashboard.helpers import as_shown, read_only

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
LAMBDA_CSV = (REPO / "data" / "price_sheets" / "lambda.csv").read_text(encoding="utf-8")


def sheet_rows(url: str) -> int:
    with sa.create_engine(url).connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM price_sheets").scalar_one()


# ---------------------------------------------------------------------------------------------------
# The store


def test_each_save_is_a_new_version_and_the_latest_is_what_the_team_sees(db_url):
    store = Store(db_url)
    assert store.price_sheets() == [] and store.price_sheets_stamp() == (0, "")
    assert store.save_price_sheet("mycloud", LAMBDA_CSV, "ann@example.com") == 1
    cheaper = LAMBDA_CSV.replace(",USD,", ",USD,", 1)
    assert store.save_price_sheet(" mycloud ", cheaper, "editor (shared password)") == 2  # the name is trimmed
    assert store.save_price_sheet("other", LAMBDA_CSV, "local user") == 1
    (latest, other) = store.price_sheets()
    assert (latest["name"], latest["version"], latest["saved_by"]) == ("mycloud", 2, "editor (shared password)")
    assert latest["csv"] == cheaper and other["name"] == "other"
    saved_at = datetime.fromisoformat(latest["saved_at"])
    assert saved_at.utcoffset().total_seconds() == 0 and abs(datetime.now(timezone.utc) - saved_at).total_seconds() < 60
    history = store.price_sheet_history("mycloud")
    assert [(h["version"], h["saved_by"]) for h in history] == [(1, "ann@example.com"), (2, "editor (shared password)")]
    assert all("csv" not in h for h in history)
    assert store.price_sheets_stamp()[0] == 3


def test_an_invalid_sheet_or_a_bundled_name_is_refused_and_nothing_is_written(db_url):
    store = Store(db_url)
    store.save_price_sheet("mycloud", LAMBDA_CSV, "ann")
    header, first, *rest = LAMBDA_CSV.splitlines()
    bad = "\n".join([header, first, first.replace(",USD,", ",EUR,").replace("lambda,", "lambda2,", 1), *rest])
    with pytest.raises(InvalidPriceSheet, match=r"mycloud\.csv: row 2 \(line 3\).*currency"):
        store.save_price_sheet("mycloud", bad, "ann")
    with pytest.raises(InvalidPriceSheet, match="bundled price sheet"):
        store.save_price_sheet("AWS", LAMBDA_CSV, "ann")
    with pytest.raises(InvalidPriceSheet, match="not a usable sheet name"):
        store.save_price_sheet("../etc/passwd", LAMBDA_CSV, "ann")
    assert sheet_rows(db_url) == 1 and store.price_sheets()[0]["version"] == 1


def test_a_parallel_save_of_the_same_name_takes_the_next_version(db_url):
    """Another editor's save lands between this save's read of the last version and its insert: the
    primary key refuses the duplicate version and the save is retried once, as version 2."""
    store, other = Store(db_url), Store(db_url)
    landed = []

    @sa.event.listens_for(store._engine, "before_cursor_execute")
    def parallel_save(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO price_sheets") and not landed:
            landed.append(other.save_price_sheet("mycloud", LAMBDA_CSV, "bob"))

    assert store.save_price_sheet("mycloud", LAMBDA_CSV, "ann") == 2
    assert landed == [1]
    assert [(h["version"], h["saved_by"]) for h in store.price_sheet_history("mycloud")] == [(1, "bob"), (2, "ann")]


def test_a_read_only_store_shows_team_sheets_and_refuses_a_save(tmp_path, monkeypatch):
    path = tmp_path / "team.db"
    with Store(f"sqlite:///{path}") as writer:
        writer.save_price_sheet("mycloud", LAMBDA_CSV, "ann")
    read_only(monkeypatch, path)
    store = Store(f"sqlite:///{path}")
    assert store.read_only
    assert [s["name"] for s in store.price_sheets()] == ["mycloud"]
    with pytest.raises(StoreError, match="read-only"):
        store.save_price_sheet("mycloud", LAMBDA_CSV, "ann")
    assert len(store.price_sheet_history("mycloud")) == 1


# ---------------------------------------------------------------------------------------------------
# The dashboard


def test_every_bundled_sheet_round_trips_through_the_csv_the_store_keeps():
    """Whole-number columns stay whole numbers ("4", not "4.0") even where a cell is empty (runpod's
    vcpus) or the editor hands them back as floats, so a saved or edited sheet is accepted again."""
    for sheet in pricing.bundled_sheets():
        frame = frames.price_sheet_frame(sheet)
        as_floats = frame.astype({name: "float64" for name in frames.INTEGER_SHEET_COLUMNS})
        for written in (frames.price_sheet_csv(sheet), frames.price_sheet_csv(as_floats)):
            assert pricing.parse_sheet(written, f"{sheet.name}.csv").rows == sheet.rows, sheet.name



@pytest.fixture
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    return url


def test_an_editor_saves_an_upload_for_the_team_and_a_link_opens_it_for_everyone(store_url):
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/hardware.py").run()
    at.get("file_uploader")[0].set_value(("mycloud.csv", LAMBDA_CSV.encode(), "text/csv"))
    at.run()
    assert "mycloud" in at.session_state[state.CUSTOM_SHEETS]
    assert at.text_input(key=state.team_sheet_name_key("upload:mycloud")).value == "mycloud"
    at.button(key=state.team_sheet_save_key("upload")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Saved “mycloud” as team sheet version 1" in as_shown(s.value) for s in at.success)
    (saved,) = Store(store_url).price_sheets()
    assert (saved["name"], saved["version"], saved["saved_by"]) == ("mycloud", 1, "local user")
    assert "mycloud" not in at.session_state[state.CUSTOM_SHEETS], "the session now prices with the team's copy"
    picker = at.selectbox(key=state.SHEET_TO_VIEW)
    assert picker.value == "mycloud" and picker.format_func("mycloud").startswith("mycloud · team v1 by local user, ")

    # Someone else, in another browser session, opens a link to it: no fallback, priced on it.
    other = AppTest.from_file(APP, default_timeout=90)
    other.query_params["sheet"] = "mycloud"
    other.run()
    assert not other.exception and not other.warning, [w.value for w in other.warning]
    assert other.session_state[state.SHEET] == "mycloud"
    assert other.sidebar.selectbox(key=state.SHEET).format_func("mycloud").startswith("mycloud · team v1")
    assert any("mycloud" in c.value for c in other.caption), "Explore says which sheet it prices with"


def test_a_viewer_sees_team_sheets_but_cannot_save_one(store_url):
    Store(store_url).save_price_sheet("mycloud", LAMBDA_CSV, "ann@example.com")
    at = AppTest.from_file(APP, default_timeout=90)
    at.secrets.update({"accelscope": {"editor_password": "pw"}})
    at.query_params["sheet"] = "mycloud"
    at.switch_page("views/hardware.py").run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key=state.SHEET_TO_VIEW)
    assert picker.value == "mycloud", "the link's team sheet is the one shown"
    assert any(o.startswith("mycloud · team v1 by ann@example.com, ") for o in picker.options)
    assert at.dataframe and not at.main.text_input and "Save as team sheet" not in {b.label for b in at.button}
    assert any("saving one for the team" in c.value for c in at.caption)

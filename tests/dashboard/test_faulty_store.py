"""A faulty results store is named, not used: a file that is not a database or a store of a newer
schema shows one error panel on every page (masked URL, message, how to recover) while the pages go
on with the bundled samples; a damaged store shows a warning panel; a read-only store reads normally,
and the Results page says it is read-only — a write that reaches it anyway is an error, not a traceback."""

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core.facts.store import SCHEMA_VERSION, Store
from dashboard import data, pipeline
from tests.core.factories import make_result
from tests.dashboard.helpers import as_shown, read_only

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["explore", "model", "run", "hardware", "results", "present"]


def store_panels(at: AppTest, kind: str = "error") -> list[str]:
    elements = at.error if kind == "error" else at.warning
    return [as_shown(e.value) for e in elements if e.value.startswith("**The results store")]


def sample_results_shown(at: AppTest) -> bool:
    return any(m.label.startswith("Fastest") for m in at.metric) and any(
        " results, " in c.value and "configurations" in c.value for c in at.caption)


@pytest.fixture
def analyses(monkeypatch):
    """Your model's analysis, faked (no subprocess): the store URL it was given each time."""
    urls = []

    def analyze(model, overrides, seq, batch, precision, checkpointing, url, stamp):
        urls.append(url)
        raise pipeline.AnalysisFailed("faked in this test")

    monkeypatch.setattr(pipeline, "_analyze_model", analyze)
    monkeypatch.setattr(data, "torch_installed", lambda: True)
    return urls


def test_a_file_that_is_not_a_database_is_named_on_every_page_and_the_samples_still_show(tmp_path, monkeypatch,
                                                                                         analyses):
    broken = tmp_path / "broken.db"
    broken.write_bytes(os.urandom(8192))
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{broken}")
    at = AppTest.from_file(APP, default_timeout=90)
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        (panel,) = store_panels(at)
        assert f"The store sqlite:///{broken} is not a readable SQLite database" in panel, page
        assert f"to recover: `sqlite3 {broken} \".recover\"" in panel and "point `ACCELSCOPE_DB` at it" in panel, page
        if page in ("explore", "present"):
            assert sample_results_shown(at) or page == "present" and at.get("plotly_chart"), page
    assert analyses == [pipeline.IN_MEMORY_STORE], "Your model still analyses, on published points only"
    assert broken.stat().st_size == 8192, "nothing was written into it"


def newer_schema_store(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    with Store(url) as store:
        store.add(make_result())
        with store._engine.begin() as conn:
            conn.execute(sa.text("UPDATE accelscope_meta SET value = '99' WHERE key = 'schema_version'"))
    return url


@pytest.mark.parametrize(("make_url", "said"), [
    (newer_schema_store, f"has schema version 99, newer than this Accelscope understands ({SCHEMA_VERSION}). Upgrade Accelscope"),
    (lambda tmp_path: "postgresql+psycopg2://ann:s3cret@127.0.0.1:1/team", "Connection refused"),
], ids=["newer-schema", "unreachable-postgresql"])
def test_a_store_that_cannot_be_opened_is_named_and_left_alone(tmp_path, monkeypatch, make_url, said):
    url = make_url(tmp_path)
    if url.startswith("postgresql"):
        pytest.importorskip("psycopg2")
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    (panel,) = store_panels(at)
    assert said in panel and "s3cret" not in panel
    assert sample_results_shown(at)
    at.switch_page("views/results.py").run()
    assert not at.exception and not at.get("file_uploader") and "Delete run" not in {b.label for b in at.button}


def test_a_damaged_store_shows_a_warning_with_the_damage_and_how_to_recover(tmp_path, monkeypatch):
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    Store(url).add(make_result(run_id="kept"))

    def quick_check(self):
        self.damage = "row 7 missing from index sqlite_autoindex_results_1"

    monkeypatch.setattr(Store, "_quick_check", quick_check)
    monkeypatch.setenv("ACCELSCOPE_DB", url)
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not store_panels(at)
    (panel,) = store_panels(at, "warning")
    assert f"Store: {url}" in panel and "row 7 missing from index" in panel
    assert f"To recover: `sqlite3 {path} \".recover\" | sqlite3 recovered.db`" in panel, "commands to copy as they are"
    assert any("1 stored result," in as_shown(c.value) for c in at.caption), "what can be read is shown"
    assert not at.get("file_uploader") and "Delete run" not in {b.label for b in at.button}


def test_a_read_only_store_reads_normally_and_a_write_that_reaches_it_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "readonly.db"
    with Store(f"sqlite:///{path}") as store:
        store.add_many([make_result(run_id="run-a"), make_result(run_id="run-a")])
    read_only(monkeypatch, path)
    monkeypatch.setenv("ACCELSCOPE_DB", f"sqlite:///{path}")
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("views/results.py").run()
    assert not at.exception and not at.error and not store_panels(at, "warning")
    assert any("2 stored results," in as_shown(c.value) for c in at.caption)
    assert any(i.value.startswith("**This results store is read-only**") for i in at.info)
    assert not at.get("file_uploader") and "Delete run" not in {b.label for b in at.button}

    # A write that gets past the page (its controls forced on) is refused by the store itself, shown as an error.
    monkeypatch.setattr(data, "store_health", lambda url=None: data.StoreHealth(f"sqlite:///{path}"))
    at.run()
    bundle = {"format": "accelscope-results", "version": 1, "results": [make_result(run_id="new").to_dict()]}
    at.get("file_uploader")[0].set_value(("new.json", json.dumps(bundle).encode(), "application/json"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(as_shown(e.value).startswith(f"Nothing imported. the store sqlite:///{path} is read-only")
               for e in at.error), [e.value for e in at.error]
    assert Store(f"sqlite:///{path}").count() == 2

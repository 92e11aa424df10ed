import pytest


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'results.db'}"


@pytest.fixture(autouse=True)
def _isolated_locks(tmp_path, monkeypatch):
    """Device locks and the spool in a per-test folder, so tests never contend with a real probe run."""
    monkeypatch.setenv("ACCELSCOPE_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("ACCELSCOPE_STATE_DIR", str(tmp_path / "state"))  # the spool (core.facts.spool)

"""Where the repository, its bundled data and the default store live (constants, no side effects)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DEFAULT_DB_PATH = REPO_ROOT / "accelscope.db"

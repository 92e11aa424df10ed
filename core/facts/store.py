"""The results store: SQLAlchemy Core over SQLite by default, any SQLAlchemy URL for a team.

Each result is written in its own transaction; an import is one transaction (all or nothing).
A schema version guards against opening a database written by a newer Accelscope.
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import sqlalchemy as sa

from core.errors import StoreError
from core.facts.results import ProbeResult
from core.facts.rows import flat_row
from core.paths import DEFAULT_DB_PATH

SCHEMA_VERSION = 3  # 2: the `summary` column; 3: summaries are core.facts.rows.flat_row (both migrated in place)
DB_ENV_VAR = "ACCELSCOPE_DB"

_metadata = sa.MetaData()
results_table = sa.Table(
    "results", _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("workload", sa.String(200), nullable=False),
    sa.Column("size", sa.String(64), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("precision", sa.String(16), nullable=False),
    sa.Column("host", sa.String(64)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # flat fields for fast dashboards (no step times)
)
meta_table = sa.Table(
    "accelscope_meta", _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)


def default_url() -> str:
    return os.environ.get(DB_ENV_VAR) or f"sqlite:///{DEFAULT_DB_PATH}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """Open with a SQLAlchemy URL (None: ``$ACCELSCOPE_DB`` or the default SQLite file)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            self._engine = sa.create_engine(self.url)
        except Exception as exc:
            raise StoreError(f"cannot use store URL {self.url!r}: {exc}. Give a SQLAlchemy URL such as "
                             "sqlite:///results.db or postgresql+psycopg2://user@host/db") from exc
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_pragmas)
        try:
            _metadata.create_all(self._engine)
            self._check_schema_version()
        except StoreError:
            self._engine.dispose()
            raise
        except Exception as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open results store {self.safe_url}: {exc}") from exc

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _check_schema_version(self) -> None:
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            if row is None:
                conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
        found = int(row[0])
        if found < SCHEMA_VERSION:
            self._migrate(found)
            return
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.safe_url} has schema version {found}, newer than this Accelscope "
                f"understands ({SCHEMA_VERSION}). Upgrade Accelscope, or point --db / {DB_ENV_VAR} "
                "at another store. Nothing was changed.")

    def _migrate(self, found: int) -> None:
        """Upgrade an older store in one transaction: add the summary column (1 -> 2) and (re)compute
        every summary as today's flat row (-> 3)."""
        with self._engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("results")}
            if "summary" not in columns:
                conn.exec_driver_sql("ALTER TABLE results ADD COLUMN summary TEXT")
            rows = conn.execute(sa.select(results_table.c.id, results_table.c.payload)).all()
            for result_id, payload in rows:
                summary = json.dumps(flat_row(ProbeResult.from_dict(json.loads(payload))), separators=(",", ":"))
                conn.execute(results_table.update().where(results_table.c.id == result_id).values(summary=summary))
            conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                         .values(value=str(SCHEMA_VERSION)))

    @staticmethod
    def _row(result: ProbeResult) -> dict:
        return {
            "id": result.id, "run_id": result.run_id, "created_at": result.created_at,
            "status": result.status, "workload": result.workload, "size": result.size,
            "device": result.device, "precision": result.precision,
            "host": (result.env or {}).get("host"),
            "payload": json.dumps(result.to_dict(), separators=(",", ":")),
            "summary": json.dumps(flat_row(result), separators=(",", ":")),
        }

    def add(self, result: ProbeResult) -> None:
        """Write one result in its own transaction."""
        with self._engine.begin() as conn:
            conn.execute(results_table.insert(), [self._row(result)])

    def add_many(self, results: Sequence[ProbeResult]) -> int:
        """Write results in one transaction, skipping ids already stored. Returns how many were new."""
        with self._engine.begin() as conn:
            ids = [r.id for r in results]
            existing: set[str] = set()
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start:chunk_start + 500]
                existing.update(conn.execute(
                    sa.select(results_table.c.id).where(results_table.c.id.in_(chunk))).scalars())
            rows, seen = [], set()
            for result in results:
                if result.id in existing or result.id in seen:
                    continue
                seen.add(result.id)
                rows.append(self._row(result))
            if rows:
                conn.execute(results_table.insert(), rows)
        return len(rows)

    def results(self, *, run_id: str | None = None, workload: str | None = None,
                device: str | None = None, status: str | None = None) -> list[ProbeResult]:
        """Stored results, oldest first, optionally filtered."""
        query = sa.select(results_table.c.payload).order_by(results_table.c.created_at, results_table.c.id)
        for column, value in (("run_id", run_id), ("workload", workload), ("device", device),
                              ("status", status)):
            if value is not None:
                query = query.where(results_table.c[column] == value)
        with self._engine.connect() as conn:
            payloads = conn.execute(query).scalars().all()
        return [ProbeResult.from_dict(json.loads(p)) for p in payloads]

    def summaries(self) -> list[dict]:
        """Every result's flat summary (see core.facts.rows.flat_row), oldest first: what a
        dashboard needs, without parsing step-time lists."""
        query = sa.select(results_table.c.summary).order_by(results_table.c.created_at, results_table.c.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).scalars().all()
        return [json.loads(row) for row in rows]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(results_table)).scalar_one()

    def change_stamp(self) -> tuple[int, str]:
        """(number of results, newest created_at): changes whenever results are added or deleted.
        Two queries, each answered from an index; as one query they scan the table (7 ms at 100k)."""
        with self._engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(results_table)).scalar_one()
            latest = conn.execute(sa.select(sa.func.max(results_table.c.created_at))).scalar_one()
        return count, latest or ""

    def runs(self) -> list[dict]:
        """One row per run: id, first timestamp, number of results."""
        query = (sa.select(results_table.c.run_id, sa.func.min(results_table.c.created_at),
                           sa.func.count())
                 .group_by(results_table.c.run_id).order_by(sa.func.min(results_table.c.created_at)))
        with self._engine.connect() as conn:
            return [{"run_id": r[0], "started_at": r[1], "results": r[2]} for r in conn.execute(query)]

    def delete_run(self, run_id: str) -> int:
        with self._engine.begin() as conn:
            return conn.execute(results_table.delete().where(results_table.c.run_id == run_id)).rowcount

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


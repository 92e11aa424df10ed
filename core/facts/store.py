"""The results store: SQLAlchemy Core over SQLite by default, any SQLAlchemy URL for a team.

Each result is written in its own transaction; an import is one transaction (all or nothing).
A schema version guards against opening a database written by a newer Accelscope.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import re
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import sqlalchemy as sa

from core.errors import InvalidPriceSheet, InvalidResult, StoreError, StoreUnavailable
from core.facts.results import ProbeResult
from core.facts.rows import flat_row
from core.facts.validation import result_problems
from core.paths import DEFAULT_DB_PATH

READABLE_SCHEMA = 5  # the oldest schema a store may have to be read without upgrading it (read-only, damaged)
SCHEMA_VERSION = 6  # 2: the `summary` column; 3: summaries are core.facts.rows.flat_row; 4: the typed
# `result_rows` table; 5: its indexes and `host_summaries`; 6: `results` narrowed to id and payload (the JSON
# summary and the columns result_rows types were written twice; an upgraded SQLite store keeps those columns,
# see Store._narrow_results). Each migrated in place, in one transaction.
DB_ENV_VAR = "ACCELSCOPE_DB"

_metadata = sa.MetaData()
# Each result whole, as its JSON (payload_of): what export, re-analysis and the Results page's downloads
# read. Everything a query selects or filters by is in `result_rows`.
results_table = sa.Table(
    "results", _metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
)
# Every flat-row column (core.facts.rows.flat_row) typed, one row per result, in a narrow table of its own:
# what the dashboard loads with one SELECT instead of parsing a result's JSON. Not columns of
# `results`: there they would sit behind each row's payload (kilobytes of step times), so that reading them
# walks the payload's overflow pages; here a scan reads ~0.3 kB a result. Without rowid, keyed on
# (created_at, id): a table scan is already in the order the dashboard wants. Written in the same
# transaction as `results`.
TEXT, REAL, INT, BOOL = "text", "real", "int", "bool"
ROW_KINDS = {
    "id": TEXT, "run_id": TEXT, "created_at": TEXT, "status": TEXT, "error": TEXT, "workload": TEXT, "size": TEXT,
    "device": TEXT, "device_kind": TEXT, "device_name": TEXT, "device_identity": TEXT, "device_label": TEXT,
    "precision": TEXT, "precision_emulated": BOOL, "batch_size": INT, "compile": BOOL, "channels_last": BOOL,
    "seconds_requested": REAL, "warmup_steps": INT, "warmup_settled": BOOL, "steps": INT, "step_time_s": REAL,
    "step_time_p10_s": REAL, "step_time_p90_s": REAL, "step_time_cv": REAL, "samples_per_s": REAL,
    "tokens_per_s": REAL, "flops_per_step": REAL, "achieved_tflops": REAL, "params": INT, "loss_first": REAL,
    "loss_last": REAL, "peak_memory_bytes": INT, "peak_memory_method": TEXT, "compile_time_s": REAL,
    "wall_time_s": REAL, "host_other_cpus": REAL, "concurrent_probes": INT, "mode": TEXT, "step_time_p99_s": REAL,
    "target_loss": REAL, "reached": BOOL, "steps_to_target": INT, "time_to_target_s": REAL, "stop_reason": TEXT,
    "host": TEXT, "torch": TEXT, "cuda": TEXT, "os": TEXT, "cpu": TEXT, "gpu": TEXT, "driver": TEXT,
    "logical_cpus": INT, "energy_j": REAL, "energy_kind": TEXT, "energy_method": TEXT, "energy_uncertainty": REAL,
    "energy_missing": TEXT, "idle_w": REAL, "energy_above_idle_j": REAL, "avg_power_w": REAL, "j_per_sample": REAL,
    "samples_per_kj": REAL, "j_per_tflop": REAL, "world_size": INT, "nodes": INT, "dist_backend": TEXT,
    "strategy": TEXT, "per_device_samples_per_s": REAL, "scaling_efficiency": REAL, "comm_share": REAL,
    "interconnect": TEXT, "launch_id": TEXT,
}
_SQL_TYPES = {TEXT: sa.Text, REAL: sa.Double, INT: sa.BigInteger, BOOL: sa.Boolean}
_KEYS = {"id": sa.String(64), "created_at": sa.String(40)}
rows_table = sa.Table(
    "result_rows", _metadata,
    *(sa.Column(name, _KEYS.get(name) or _SQL_TYPES[kind](), primary_key=name in _KEYS,
                nullable=name not in _KEYS and name not in ("run_id", "status", "workload", "size", "device",
                                                             "precision", "mode"))
      for name, kind in sorted(ROW_KINDS.items(), key=lambda item: (item[0] != "created_at", item[0] != "id"))),
    sa.UniqueConstraint("id", name="result_rows_id"),
    # what the dashboard selects rows by: a machine (summaries), runs, a scope, one workload's newest
    sa.Index("result_rows_host", "host"),
    sa.Index("result_rows_run", "run_id"),
    sa.Index("result_rows_mode", "mode"),
    sa.Index("result_rows_world_size", "world_size"),
    sa.Index("result_rows_workload", "workload", "size", "created_at", "id"),  # a workload's newest, in order
    sqlite_with_rowid=False,
)
# Each host's results summarised per configuration (core.facts.summary.summarise, as JSON): what the
# dashboard reads instead of every row. A write marks its hosts stale (body NULL, seq + 1) in its own
# transaction; a reader recomputes a stale host from its rows and keeps the new body only if nothing
# was written to that host meanwhile (seq unchanged). Host NULL is keyed NO_HOST_KEY.
summaries_table = sa.Table(
    "host_summaries", _metadata,
    sa.Column("host_key", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text),
)
_SQLITE_INSERT = {table.name: f"INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) VALUES "
                            f"({', '.join('?' for _ in table.columns)}) ON CONFLICT DO NOTHING"
                  for table in (results_table, rows_table)}
WRITE_BATCH = 5_000  # rows per executemany: bounded memory for a million-result import, few round trips
BULK_CACHE_KIB = 128 * 1024  # SQLite's page cache during a bulk write (see Store._bulk_cache)

meta_table = sa.Table(
    "accelscope_meta", _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)
# Team price sheets: every save is a new version (nothing is overwritten); created by create_all, so an
# older store gains the table the first time it is opened writable (no schema-version change).
price_sheets_table = sa.Table(
    "price_sheets", _metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("csv", sa.Text, nullable=False),
    sa.Column("saved_by", sa.String(200), nullable=False),
    sa.Column("saved_at", sa.String(40), nullable=False),  # ISO 8601, UTC
)
SHEET_NAME = re.compile(r"[^\W_][\w .()-]{0,63}")  # letters or digits first; then also space _ . ( ) -


RECOVERY_HINT = ("to recover: `sqlite3 BROKEN.db \".recover\" | sqlite3 recovered.db` (SQLite 3.29+), or "
                 "`python -m core export --db sqlite:///BROKEN.db FILE` for what is still readable, then point "
                 f"--db / {DB_ENV_VAR} at a new store and import it")


NO_HOST_KEY = "<no host>"  # the host_summaries key of results that recorded no host (validation refuses < > in a host)


def _host_key(host: str | None) -> str:
    return NO_HOST_KEY if host is None else host


def _host_of(key: str) -> str | None:
    return None if key == NO_HOST_KEY else key


def _conditions(where: Mapping[str, Sequence] | None, scope: str | None, ok: bool | None) -> list:
    """SQL conditions on result_rows: each ``where`` column in its values (None among them: NULL too),
    a scope (core.facts.summary.SCOPES), successful or not."""
    from core.facts.summary import CONVERGE, INFER, SCALE, SCOPES, TRAIN

    c = rows_table.c
    conditions = []
    for column, values in (where or {}).items():
        if column not in ROW_KINDS:
            raise ValueError(f"cannot select results by {column!r}: not a typed column")
        values = list(values)
        if not values:
            continue
        present = [v for v in values if v is not None]
        condition = c[column].in_(present) if present else sa.false()
        conditions.append(sa.or_(condition, c[column].is_(None)) if None in values else condition)
    if scope is not None:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")
        if scope == SCALE:
            conditions.append(c.world_size.is_not(None))
        else:
            conditions.append(c.world_size.is_(None))
            if scope == TRAIN:
                conditions.append(sa.or_(c.mode.is_(None), c.mode.not_in([INFER, CONVERGE])))
            else:
                conditions.append(c.mode == scope)
    if ok is not None:
        conditions.append(c.status == "ok" if ok else c.status != "ok")
    return conditions


RUN_SCAN_ROWS = 100_000  # the newest runs are looked for among this many newest results
QUICK_CHECK_MAX_BYTES = 256 * 2**20  # a larger SQLite file is not read whole on every open (1M results: 7 GB)


def _checked_whole(path: Path | None) -> bool:
    """Whether opening this SQLite file runs PRAGMA quick_check, which reads every page: up to
    QUICK_CHECK_MAX_BYTES (a damaged page of a larger store is found by the read or write that
    reaches it, which says so and how to recover)."""
    try:
        return path is None or not path.exists() or path.stat().st_size <= QUICK_CHECK_MAX_BYTES
    except OSError:
        return True


def default_url() -> str:
    return os.environ.get(DB_ENV_VAR) or f"sqlite:///{DEFAULT_DB_PATH}"


SECRET_QUERY_KEYS = ("password", "passwd", "sslpassword")  # libpq takes a password in the query string too


def masked(url: str) -> str:
    """The URL with its password (in the user part or the query string) replaced by ***, for every
    message and log line."""
    try:
        parsed = sa.engine.make_url(url)
        secret = {key: "***" for key in parsed.query if key.lower() in SECRET_QUERY_KEYS}
        return parsed.update_query_dict(secret).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable store URL>"


def _passwords(url: str) -> list[str]:
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        return []
    found = [parsed.password] if parsed.password else []
    for key, value in parsed.query.items():
        if key.lower() in SECRET_QUERY_KEYS:
            found += [value] if isinstance(value, str) else list(value)
    return [str(p) for p in found if p]


def scrub(text: str, url: str) -> str:
    """A message (a driver's error, say) with the URL's password, wherever it appears, masked."""
    text = text.replace(url, masked(url))
    for password in _passwords(url):
        text = text.replace(password, "***")
    return text


BUSY_TIMEOUT_ENV_VAR = "ACCELSCOPE_BUSY_TIMEOUT_S"  # how long a SQLite write waits for another writer


def busy_timeout_ms() -> int:
    """10 s, or ``$ACCELSCOPE_BUSY_TIMEOUT_S`` (a busy team store may want longer; tests shorter)."""
    try:
        seconds = float(os.environ.get(BUSY_TIMEOUT_ENV_VAR, "10"))
    except ValueError:
        seconds = 10.0
    return int(max(seconds, 0.0) * 1000)


# A new SQLite store's page size (an existing one keeps its own). At 4 KB a result's payload (6 kB with 300
# step times) takes a leaf page of its own and an overflow page; at 32 KB five share a page. An import of
# 300,000 results wrote 1.8x faster and committed 2.3x faster (BENCHMARKS.md, "32 KB pages").
SQLITE_PAGE_BYTES = 32_768


def _sqlite_pragmas(read_only: bool):
    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        # first: switching a new file to WAL writes it, and waits (not fails) while another process does
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
        if not read_only:
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # before WAL: it fixes the size of a new file
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
    return apply


def _switch_to_wal(cursor) -> None:
    """PRAGMA journal_mode=WAL, tried again while another process holds the file's lock: processes that
    open a new store together all get it."""
    _while_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"), sqlite3.OperationalError)


def _try_rollback_journal(driver) -> bool:
    """Switch a WAL store to a rollback journal (DELETE) if no other connection has it open; whether it did.
    Tried once, without waiting: another connection's WAL lock refuses the switch at once."""
    if driver.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return False  # in memory, or opened read-only: nothing to gain
    timeout_ms = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute("PRAGMA busy_timeout=0")
    try:
        switched = driver.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    except sqlite3.OperationalError:  # "database is locked": another connection has it open
        switched = False
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
    if switched:
        driver.execute("PRAGMA synchronous=FULL")
    return switched


def _while_locked(action, errors):
    """``action()``, tried again while it fails with "database is locked" (``errors``), up to the busy
    timeout: SQLite says so at once, without waiting busy_timeout, to a process that opens a file another
    process is switching to WAL."""
    deadline = time.monotonic() + busy_timeout_ms() / 1000
    while True:
        try:
            return action()
        except errors as exc:
            if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def sqlite_file(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


COMPACT_STEP_TIMES = "step_times_f64_b64"  # the payload's packed step times: core.facts.results.PACKED_STEP_TIMES


def payload_of(result: ProbeResult) -> str:
    """A result as the store keeps it: its JSON, with the step times packed (exact float64, base64:
    about half the size of JSON numbers, and no float formatting on import), as bundles of version 2
    carry it."""
    return json.dumps(result.to_dict(packed_step_times=True), separators=(",", ":"))


def result_of(payload: str) -> ProbeResult:
    """The result a payload holds (packed step times, or a list, as stores before the packing wrote)."""
    return ProbeResult.from_dict(json.loads(payload))


ROW_COLUMNS = tuple(c.name for c in rows_table.columns)
_row_values = operator.itemgetter(*ROW_COLUMNS)  # a flat row's values in result_rows' column order (one C call)
_HOST = ROW_COLUMNS.index("host")


# Per column kind, the Python types a value may have to be read back as it was written (but a REAL column
# returns a float where an int was written, and 0.0 where -0.0 was: _NewHosts.row converts those).
_TYPES = {REAL: {float, int}, INT: {int}, TEXT: {str}, BOOL: {bool}}


class _NewHosts:
    """What a bulk write keeps of the hosts it is the first to write (its mark created their
    host_summaries row, so they had no results): each one's summary, made as its rows are written and
    stored with them, so that nobody has to read them all back to summarise them (at a million results,
    17 s after an import). A host with other results, one a batch wrote only part of (some of its ids
    were stored already), or one with a value of another type than its column's (a result made in memory)
    is left stale and summarised from its rows when it is read."""

    def __init__(self) -> None:
        from core.facts.summary import INPUT_COLUMNS

        self.summarisers: dict[str, object] = {}
        self.spoiled: set[str] = set()
        self.columns = INPUT_COLUMNS
        self.inputs_of = operator.itemgetter(*(ROW_COLUMNS.index(c) for c in INPUT_COLUMNS))  # one C call
        self.kinds = [ROW_KINDS[c] for c in INPUT_COLUMNS]
        self.reals = [index for index, kind in enumerate(self.kinds) if kind == REAL]
        self.reals_of = operator.itemgetter(*self.reals)
        self.signatures: dict[tuple, bool | None] = {}  # the types of a row's inputs -> _signature's answer

    def row(self, typed: tuple) -> dict | None:
        """A row's summary input as the store will give it back, or None where that is not known (a value
        of another type than its column's, from a result made in memory). A bundle's rows have a few type
        signatures (where a value is None, where a REAL is an int): each is checked once."""
        values = self.inputs_of(typed)
        signature = tuple(map(type, values))
        converted = self.signatures.get(signature, ...)
        if converted is ...:
            converted = self.signatures[signature] = self._signature(signature)
        if converted is None:
            return None
        if converted or 0.0 in self.reals_of(values):  # an int, or a zero that may be -0.0, in a REAL column
            values = list(values)
            for index in self.reals:
                if values[index] is not None:
                    values[index] = float(values[index]) + 0.0
        return dict(zip(self.columns, values))

    def _signature(self, signature: tuple) -> bool | None:
        """None: a value of a type its column does not give back; else whether a REAL column holds an int."""
        if any(kind is not type(None) and kind not in _TYPES[column_kind]
               for kind, column_kind in zip(signature, self.kinds)):
            return None
        return any(signature[index] is int for index in self.reals)

    def add(self, rows: Sequence[tuple[tuple, tuple]], created: set[str], complete: bool) -> None:
        from core.facts.summary import Summariser

        for key in created:
            self.summarisers[key] = Summariser()
        keys = {_host_key(typed[_HOST]) for _, typed in rows}
        if not complete:  # which of the rows were skipped is not known: these hosts are summarised from the store
            self.spoiled.update(keys)
        for key in keys & self.spoiled:
            self.summarisers.pop(key, None)
        if not self.summarisers:
            return
        for _, typed in rows:
            key = _host_key(typed[_HOST])
            summariser = self.summarisers.get(key)
            if summariser is not None:
                row = self.row(typed)
                if row is None:
                    self.spoiled.add(key)
                    del self.summarisers[key]
                else:
                    summariser.add(row)

    def store(self, conn) -> None:
        """Their summaries into host_summaries, in the writer's transaction (their rows are still its own:
        another writer of the same host waits for it, and marks them stale after)."""
        if self.summarisers:
            conn.execute(summaries_table.update().where(summaries_table.c.host_key == sa.bindparam("key"))
                         .values(body=sa.bindparam("new_body")),
                         [{"key": key, "new_body": json.dumps(summariser.summary())}
                          for key, summariser in self.summarisers.items()])


def _sqlite_results_insert(conn) -> tuple[str, object]:
    """(the INSERT into `results`, None or a function of a result_rows row giving the values of the columns
    a SQLite store of schema 5 or older keeps beside id and payload: see Store._narrow_results)."""
    inspector = sa.inspect(conn)
    found = [c["name"] for c in inspector.get_columns(results_table.name)] if inspector.has_table(
        results_table.name) else []  # an empty store opened read-only has no tables
    kept = [name for name in found if name not in results_table.c]
    if not kept:
        return _SQLITE_INSERT[results_table.name], None
    sql = (f"INSERT INTO {results_table.name} (id, payload, {', '.join(kept)}) VALUES "
           f"({', '.join('?' for _ in range(2 + len(kept)))}) ON CONFLICT DO NOTHING")
    places = [ROW_COLUMNS.index(name) if name in ROW_COLUMNS else None for name in kept]  # the summary: "{}"
    return sql, lambda typed: tuple("{}" if place is None else typed[place] for place in places)


class ValidatedResults(list):
    """Results that core.facts.validation has passed (core.facts.bundle.parse_bundle returns them):
    Store.add_many does not validate them a second time. Any other sequence is validated there."""


CONNECT_TIMEOUT_S = 10  # an unreachable server fails in 10 s instead of the system's TCP timeout (minutes)


def _connect_options(url: str) -> dict:
    if sa.engine.make_url(url).get_backend_name() == "postgresql":
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


class Store:
    """Open with a SQLAlchemy URL (None: ``$ACCELSCOPE_DB`` or the default SQLite file).

    A SQLite file that cannot be written (its permissions, a read-only folder or medium) opens
    read-only: reads work, writes are refused. A SQLite file that fails ``PRAGMA quick_check`` is
    damaged: reads go as far as they can, writes are refused with how to recover."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.read_only = False
        self.read_only_reason = "the file or its folder cannot be written"
        self.damage: str | None = None
        try:
            engine_url = self._engine_url()
            self._engine = sa.create_engine(engine_url, **_connect_options(engine_url))
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot use store URL {self.safe_url}: {scrub(str(exc), self.url)}. Give a SQLAlchemy "
                             "URL such as sqlite:///results.db or postgresql+psycopg2://user@host/db") from None
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_pragmas(self.read_only))
        try:
            if self._engine.dialect.name == "sqlite" and _checked_whole(sqlite_file(self.url)):
                self._quick_check()
            if not self.read_only and self.damage is None:
                # the team sheets' table is made by its first save: a read-only role can open a store
                self._create_tables()
            self._check_schema_version()
            with self._engine.connect() as conn:
                self._has_summaries = sa.inspect(conn).has_table(summaries_table.name)
                self._sqlite_results_insert = _sqlite_results_insert(conn) if self._engine.dialect.name == "sqlite" \
                    else None
        except StoreError:
            self._engine.dispose()
            raise
        except Exception as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open results store {self.safe_url}: {self._describe(exc)}") from None

    def _create_tables(self) -> None:
        """The tables a new store needs (those missing). Processes that open a new store at once (the nodes
        of a job, parallel imports) may both find a table missing: the one that creates it second is told it
        exists (PostgreSQL: its row type's name is taken), and looks again. Each time that happens another
        process made one of the tables, so once per table is enough (three tries were not: four processes
        failed one in twelve runs, the last told "table accelscope_meta already exists")."""
        tables = [results_table, rows_table, meta_table, summaries_table]
        for attempt in range(len(tables) + 1):
            try:
                _metadata.create_all(self._engine, tables=tables)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
                made_meanwhile = "already exists" in str(exc) or "pg_type_typname_nsp_index" in str(exc)
                if not made_meanwhile or attempt == len(tables):
                    raise

    def _engine_url(self) -> str:
        """The URL to connect with: a SQLite file this process cannot write opens read-only."""
        path = sqlite_file(self.url)
        if path is None or not path.exists():
            if path is not None and not os.access(path.parent if str(path.parent) else ".", os.W_OK):
                raise StoreError(f"the store {self.safe_url} does not exist and its folder is not writable; "
                                 "give --db a path in a folder you can write")
            return self.url
        if os.access(path, os.R_OK) and not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            self.read_only = True
            # immutable only on a read-only file system (a mounted snapshot): there nobody can write it,
            # so no lock or -shm file is needed; a folder only we cannot write may change under us
            return f"sqlite:///file:{path}?mode=ro&uri=true" + ("&immutable=1" if _read_only_mount(path) else "")
        return self.url

    def _quick_check(self) -> None:
        def check() -> list[str]:
            with self._engine.connect() as conn:
                return [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
        try:  # another process making the new file (its WAL) holds it: busy, not damaged
            found = _while_locked(check, sa.exc.DatabaseError)
        except sa.exc.DatabaseError as exc:
            found = self._check_failed(exc)
        if found != ["ok"]:
            self.damage = "; ".join(found)

    def _check_failed(self, exc: sa.exc.DatabaseError) -> list[str]:
        if "database is locked" in str(exc):
            raise StoreUnavailable(f"the store {self.safe_url} is busy: {self._describe(exc)}. Try again") from None
        if "not a database" in str(exc) or "unable to open" in str(exc):
            raise StoreError(f"the store {self.safe_url} is not a readable SQLite database "
                             f"({self._describe(exc)}); {RECOVERY_HINT}") from None
        return [self._describe(exc)]  # malformed pages: what is still readable can be exported

    def _describe(self, exc: BaseException) -> str:
        text = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        if text == "database is locked":
            text += (f": another process held it past the busy timeout of {busy_timeout_ms() / 1000:g} s (a write "
                     "holds it while it writes; a big import, until it ends)")
        return scrub(text, self.url)

    @property
    def one_writer_at_a_time(self) -> bool:
        """Whether the database lets one transaction write at a time (SQLite). Elsewhere (PostgreSQL) two
        imports of overlapping bundles must write their rows in one order (the file's), or each may wait for
        an id the other holds: a deadlock, and one import fails."""
        return self._engine.dialect.name == "sqlite"

    @property
    def safe_url(self) -> str:
        return masked(self.url)

    def check_writable(self) -> None:
        """Refuse a write to a store that cannot take one, before anything changes."""
        if self.damage is not None:
            raise StoreError(f"the store {self.safe_url} is damaged (integrity check: {self.damage}); nothing was "
                             f"written. Reading may still work; {RECOVERY_HINT}")
        if self.read_only:
            raise StoreError(f"the store {self.safe_url} is read-only ({self.read_only_reason}); "
                             "nothing was written. Give --db a store you can write, or fix the permissions")

    @contextlib.contextmanager
    def _reading(self):
        """Read errors as StoreErrors that name the store and how to recover (never a traceback)."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            hint = f"; {RECOVERY_HINT}" if self.damage else ""
            raise StoreError(f"cannot read the store {self.safe_url}: {self._describe(exc)}{hint}") from None
        except (ValueError, TypeError) as exc:  # a stored payload that no longer parses
            raise StoreError(f"the store {self.safe_url} holds an unreadable result ({exc}); {RECOVERY_HINT}") from None

    @contextlib.contextmanager
    def _writing(self):
        self.check_writable()
        try:
            yield
        except (sa.exc.OperationalError, sqlite3.OperationalError) as exc:  # the latter: a PRAGMA on the driver
            raise StoreUnavailable(f"cannot write to the store {self.safe_url}: {self._describe(exc)}. Nothing "
                                   "was written.") from None
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot write to the store {self.safe_url}: {self._describe(exc)}. Nothing was "
                             "written.") from None

    def _check_schema_version(self) -> None:
        with self._reading():
            with self._engine.connect() as conn:
                if not sa.inspect(conn).has_table(meta_table.name):
                    if self.read_only or self.damage:
                        return  # an empty (or unreadable) store; nothing to check, nothing may be written
                row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
        if row is None:
            if self.read_only or self.damage:
                return
            try:
                with self._engine.begin() as conn:
                    conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            except sa.exc.IntegrityError:  # another process opening the new store wrote it meanwhile
                self._check_schema_version()
            return
        found = int(row[0])
        if found < SCHEMA_VERSION:
            if found >= READABLE_SCHEMA and (self.read_only or self.damage):
                return  # read as it is: it cannot be upgraded, and its reads need nothing schema 6 added
            self.check_writable()
            try:
                self._migrate()
            except sa.exc.ProgrammingError as exc:
                if found < READABLE_SCHEMA:
                    raise
                # a role that may read but not alter the tables (a viewer of a team store): read it as it is
                self.read_only = True
                self.read_only_reason = (f"this database role cannot upgrade it to schema {SCHEMA_VERSION} "
                                         f"({self._describe(exc)}); open it once with a role that owns its tables")
            return
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.safe_url} has schema version {found}, newer than this Accelscope "
                f"understands ({SCHEMA_VERSION}). Upgrade Accelscope, or point --db / {DB_ENV_VAR} "
                "at another store. Nothing was changed.")

    def _migrate(self) -> None:
        """Upgrade an older store in one transaction: fill the typed rows from the payloads (1-3 -> 4),
        index them and mark every host's summary stale (-> 5: the first reader recomputes them), narrow
        `results` to id and payload (-> 6). Read and written a batch at a time, in id order. The version
        is read again inside, locked: of two processes opening the store at once, the second finds it
        upgraded and does nothing."""
        with self._engine.begin() as conn:
            if self._engine.dialect.name == "sqlite":
                # the driver begins a transaction only before a DML statement: begun here, the migration's
                # DDL (CREATE INDEX, DROP INDEX) is in it too, and the file's write lock is taken at once
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            found = int(conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
                                     .with_for_update()).scalar_one())
            if found >= SCHEMA_VERSION:
                return
            if found < 4:
                self._fill_rows(conn)
            if found < 5:
                for index in rows_table.indexes:
                    index.create(conn, checkfirst=True)
                conn.execute(summaries_table.delete())
                hosts = conn.execute(sa.select(rows_table.c.host).distinct()).scalars().all()
                if hosts:
                    conn.execute(summaries_table.insert(),
                                 [{"host_key": _host_key(h), "seq": 1, "body": None} for h in hosts])
            self._narrow_results(conn)
            conn.execute(meta_table.update().where(meta_table.c.key == "schema_version")
                         .values(value=str(SCHEMA_VERSION)))

    @staticmethod
    def _fill_rows(conn) -> None:
        """Schema 1-3 to 4: a typed row of every result, from its payload."""
        conn.execute(rows_table.delete())  # an interrupted earlier try left nothing half-done, but be sure
        last = ""
        while True:
            batch = conn.execute(sa.select(results_table.c.id, results_table.c.payload)
                                 .where(results_table.c.id > last).order_by(results_table.c.id)
                                 .limit(WRITE_BATCH)).all()
            if not batch:
                break
            typed = []
            for result_id, payload in batch:
                flat = flat_row(result_of(payload))
                flat["id"] = result_id  # the row is keyed as stored
                typed.append(dict(zip(ROW_COLUMNS, _row_values(flat))))
            conn.execute(rows_table.insert(), typed)
            last = batch[-1][0]

    def _narrow_results(self, conn) -> None:
        """Schema 5 to 6: `results` keeps id and payload; its other columns (the JSON summary, and
        status, workload, … that result_rows types) and their indexes go. PostgreSQL drops a column at
        once. SQLite copies the whole table to drop one (for a million results: 5.4 minutes with the
        store locked, and the file twice its size until a VACUUM), so there only the indexes go: the
        columns stay, filled on insert as before (the summary an empty object; nothing reads them)."""
        inspector = sa.inspect(conn)
        extra = [c["name"] for c in inspector.get_columns(results_table.name) if c["name"] not in results_table.c]
        if not extra:
            return
        if self._engine.dialect.name == "sqlite":
            for index in inspector.get_indexes(results_table.name):
                conn.exec_driver_sql(f"DROP INDEX {conn.dialect.identifier_preparer.quote(index['name'])}")
            return  # the columns stay (see the docstring)
        quote = conn.dialect.identifier_preparer.quote
        for name in extra:
            conn.exec_driver_sql(f"ALTER TABLE {results_table.name} DROP COLUMN {quote(name)}")

    @staticmethod
    def rows_of(result: ProbeResult, payload: str | None = None) -> tuple[tuple, tuple]:
        """(the `results` row, the `result_rows` row) of one result, as values in their tables' column
        order: what :meth:`bulk_writer` writes (plain tuples: another process can make them). ``payload``:
        its JSON as a bundle carried it, when that is already the store's form (core.facts.bundle.import_file):
        not made again."""
        return (result.id, payload or payload_of(result)), _row_values(flat_row(result))

    @staticmethod
    def _checked(results: Sequence[ProbeResult]) -> None:
        """The shared validation (core.facts.validation): nothing impossible is written. Results that
        core.facts.bundle.parse_bundle returned were validated there, and are not validated again."""
        if isinstance(results, ValidatedResults):
            return
        problems = [f"{r.id[:64]}: " + "; ".join(found) for r in results if (found := result_problems(r))]
        if problems:
            raise InvalidResult(f"{len(problems)} result(s) refused, nothing was written: " + " | ".join(problems[:10]))

    def _insert_new(self, conn, rows: Sequence[tuple[tuple, tuple]], new_hosts: _NewHosts) -> int:
        """INSERT … ON CONFLICT DO NOTHING into both tables: an id already stored (by this or a parallel
        import) is skipped, never an error. Returns how many results were new."""
        if not rows:
            return 0
        added = self._insert_rows(conn, rows)
        if added:  # an import of results already stored changes nothing, and leaves the summaries as they are
            created = self._mark_stale(conn, {typed[_HOST] for _, typed in rows})
            new_hosts.add(rows, created, complete=added == len(rows))
        return added

    def _insert_rows(self, conn, rows: Sequence[tuple[tuple, tuple]]) -> int:
        dialect = self._engine.dialect.name
        if dialect == "sqlite":  # the driver's executemany of plain tuples: a third of the time of Core's binding
            sql, kept_values = self._sqlite_results_insert
            results = [r for r, _ in rows] if kept_values is None else [(*r, *kept_values(t)) for r, t in rows]
            added = conn.exec_driver_sql(sql, results).rowcount
            conn.exec_driver_sql(_SQLITE_INSERT[rows_table.name], [typed for _, typed in rows])
            return added  # both tables hold the same ids (written together), so both skip the same ones
        results = [{"id": r[0], "payload": r[1]} for r, _ in rows]
        typed = [dict(zip(ROW_COLUMNS, t)) for _, t in rows]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert

            added = conn.execute(insert(results_table).on_conflict_do_nothing(index_elements=["id"]),
                                 results).rowcount  # psycopg2 counts an executemany
            conn.execute(insert(rows_table).on_conflict_do_nothing(), typed)
            return added
        # another database: check first (not safe against a parallel writer of the same ids)
        existing = set(conn.execute(sa.select(results_table.c.id).where(
            results_table.c.id.in_([r["id"] for r in results]))).scalars())
        fresh = [index for index, r in enumerate(results) if r["id"] not in existing]
        if fresh:
            conn.execute(results_table.insert(), [results[i] for i in fresh])
            conn.execute(rows_table.insert(), [typed[i] for i in fresh])
        return len(fresh)

    def _mark_stale(self, conn, hosts) -> set[str]:
        """These hosts' summaries must be recomputed (in the writer's transaction: a reader that
        recomputed them meanwhile finds seq changed and does not keep its older body). Returns the keys
        whose row this created (seq 1: a mark of an existing row makes its seq 2 or more): hosts with no
        results before this transaction, which holds their row until it ends."""
        keys = sorted({_host_key(h) for h in hosts})
        if not keys:
            return set()
        dialect = self._engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            if dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert
            else:
                from sqlalchemy.dialects.postgresql import insert
            marked = conn.execute(insert(summaries_table).values([{"host_key": key, "seq": 1, "body": None}
                                                                  for key in keys])
                                  .on_conflict_do_update(index_elements=["host_key"],
                                                         set_={"body": None, "seq": summaries_table.c.seq + 1})
                                  .returning(summaries_table.c.host_key, summaries_table.c.seq))
            return {key for key, seq in marked if seq == 1}
        known = set(conn.execute(sa.select(summaries_table.c.host_key)
                                 .where(summaries_table.c.host_key.in_(keys))).scalars())
        if known:
            conn.execute(summaries_table.update().where(summaries_table.c.host_key.in_(known))
                         .values(body=None, seq=summaries_table.c.seq + 1))
        created = set(keys) - known
        if created:
            conn.execute(summaries_table.insert(), [{"host_key": k, "seq": 1, "body": None} for k in sorted(created)])
        return created

    def add(self, result: ProbeResult) -> bool:
        """Write one result in its own transaction; False if its id was already stored."""
        self._checked([result])
        with self.bulk_writer() as write:
            return write([self.rows_of(result)]) == 1

    @contextlib.contextmanager
    def bulk_writer(self, *, pages_once: bool = False):
        """One transaction for a stream of batches: yields ``write(rows) -> how many results were new``,
        ``rows`` being :meth:`rows_of` of results that core.facts.validation has passed (the caller's
        check: add_many's, or an import's); committed when the block ends, rolled back, all of it, when
        it raises. A SQLite writer keeps up to BULK_CACHE_KIB of pages in memory meanwhile. The hosts it
        is the first to write are summarised as they are written, and their summaries stored with them
        (_NewHosts); the others are marked stale. ``pages_once``: a write of hundreds of MB (a big import),
        whose pages a SQLite store nobody else has open writes once (_rollback_journal_if_alone)."""
        with self._writing(), self._engine.connect() as conn, \
                self._rollback_journal_if_alone(conn, pages_once) as alone, conn.begin():
            if alone:  # the write lock now, not at the commit: a reader that came meanwhile cannot fail the import
                conn.exec_driver_sql("BEGIN EXCLUSIVE")
            new_hosts = _NewHosts()

            def write(rows: Sequence[tuple[tuple, tuple]]) -> int:
                return sum(self._insert_new(conn, rows[start:start + WRITE_BATCH], new_hosts)
                           for start in range(0, len(rows), WRITE_BATCH))
            with self._bulk_cache(conn):
                yield write
                new_hosts.store(conn)

    @contextlib.contextmanager
    def _rollback_journal_if_alone(self, conn, wanted: bool):
        """In WAL mode SQLite writes a transaction's pages twice: into the WAL as it goes, then into the
        database file (the checkpoint after the commit). For a big import into a new store that was most of
        what came after its last row: a million results (7.8 GB) spent 29.5 s after it in WAL mode, 0.9 s
        with a rollback journal, which writes a new page once (it needs no journal entry); 153 s against
        115 s in all, one run each. So when ``wanted``, and no other connection has the store open, the
        transaction runs with a rollback journal, synced FULL (NORMAL is safe from corruption only in WAL
        mode), and the store goes back to WAL and NORMAL after it, however it ended. Yields whether it
        switched: the caller then takes the write lock at once (BEGIN EXCLUSIVE). A crash leaves a journal
        that the next opener rolls back. The store is closed meanwhile: another process that opens it waits,
        up to the busy timeout. One that has it open already (a dashboard) keeps WAL: the switch is refused
        at once, and the import writes through the WAL as any other write."""
        if not wanted or self._engine.dialect.name != "sqlite":
            yield False
            return
        driver = conn.connection.dbapi_connection  # PRAGMAs outside SQLAlchemy's transaction: none is open yet
        switched = _try_rollback_journal(driver)
        try:
            yield switched
        finally:
            if switched:
                with contextlib.suppress(sqlite3.Error):  # else the next Store to open it switches it back
                    driver.execute("PRAGMA synchronous=NORMAL")
                    _switch_to_wal(driver)

    @contextlib.contextmanager
    def _bulk_cache(self, conn):
        """SQLite's page cache is 2 MB: a bulk write into a store of a million results reads index pages
        back from the file for every row (an import's inserts ran 2-3x slower at 200,000 results than at
        20,000). A writer's connection gets BULK_CACHE_KIB while it writes, its own size back after."""
        if self._engine.dialect.name != "sqlite":
            yield
            return
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            # after an interrupt the connection is invalidated: the restore fails, and must not hide why
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")

    def add_many(self, results: Sequence[ProbeResult]) -> int:
        """Write results in one transaction (all or nothing), skipping ids already stored, safe beside a
        parallel import of the same results; rows go in batches of WRITE_BATCH (one executemany each).
        Returns how many were new."""
        self._checked(results)
        seen: set[str] = set()
        unique = [r for r in results if not (r.id in seen or seen.add(r.id))]
        with self.bulk_writer() as write:  # rows made a batch at a time: bounded memory
            return sum(write([self.rows_of(r) for r in unique[start:start + WRITE_BATCH]])
                       for start in range(0, len(unique), WRITE_BATCH))

    def results(self, *, run_id: str | None = None, workload: str | None = None,
                device: str | None = None, status: str | None = None) -> list[ProbeResult]:
        """Stored results, oldest first, optionally filtered. One unreadable payload is an error
        (see :meth:`readable_results` to rescue the rest)."""
        results, unreadable = self.readable_results(run_id=run_id, workload=workload, device=device, status=status)
        if unreadable:
            raise StoreError(f"the store {self.safe_url} holds {len(unreadable)} unreadable result(s) (first: "
                             f"{unreadable[0]}); {RECOVERY_HINT}")
        return results

    def readable_results(self, *, run_id: str | None = None, workload: str | None = None,
                         device: str | None = None, status: str | None = None) -> tuple[list[ProbeResult], list[str]]:
        """(every result that still reads, "id: why" of each that does not): what an export of a
        damaged store can rescue."""
        query = (sa.select(results_table.c.id, results_table.c.payload)  # outer: a damaged store's payload
                 .outerjoin(rows_table, rows_table.c.id == results_table.c.id)  # without a typed row is rescued too
                 .order_by(rows_table.c.created_at, results_table.c.id))
        for column, value in (("run_id", run_id), ("workload", workload), ("device", device),
                              ("status", status)):
            if value is not None:
                query = query.where(rows_table.c[column] == value)
        with self._reading():
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
        results, unreadable = [], []
        for result_id, payload in rows:
            try:
                results.append(result_of(payload))
            except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
                unreadable.append(f"{result_id}: {str(exc)[:200]}")
        return results, unreadable

    def summaries(self) -> list[dict]:
        """Every result's flat row (see core.facts.rows.flat_row), oldest first, from the typed rows:
        what a small store's callers want; the dashboard reads :meth:`row_chunks` instead."""
        columns = list(ROW_KINDS)
        return [dict(zip(columns, row)) for chunk in self.row_chunks(columns) for row in chunk]

    def row_chunks(self, columns: Sequence[str], chunk_rows: int = 50_000, *,
                   where: Mapping[str, Sequence] | None = None, scope: str | None = None, ok: bool | None = None,
                   newest: int | None = None):
        """The typed flat-row columns ``columns`` (ROW_KINDS) of every result, oldest first (created_at,
        id), as lists of tuples of at most ``chunk_rows`` rows: a caller turns each chunk into columns
        before the next is read, so a million results never sit in memory as Python rows.

        Only some results: ``where`` (column -> the values it may have; an empty list: any), ``scope``
        (core.facts.summary.SCOPES), ``ok`` (True: successful only, False: the others), ``newest`` (the
        newest N, newest first)."""
        unknown = [c for c in columns if c not in ROW_KINDS]
        if unknown:
            raise ValueError(f"not a result column: {', '.join(unknown)} (the columns are core.facts.rows.flat_row's)")
        query = sa.select(*(rows_table.c[c] for c in columns)).where(*_conditions(where, scope, ok))
        if newest is None:
            query = query.order_by(rows_table.c.created_at, rows_table.c.id)
        else:
            query = query.order_by(rows_table.c.created_at.desc(), rows_table.c.id.desc()).limit(newest)
        with self._reading(), self._engine.connect() as conn:
            result = conn.execution_options(yield_per=chunk_rows).execute(query)
            yield from result.partitions()

    def count(self, *, where: Mapping[str, Sequence] | None = None, scope: str | None = None,
              ok: bool | None = None) -> int:
        """How many results (those matching, as in :meth:`row_chunks`)."""
        query = sa.select(sa.func.count()).select_from(rows_table).where(*_conditions(where, scope, ok))
        with self._reading(), self._engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def host_summaries(self) -> dict[str | None, dict]:
        """Every host's results summarised per configuration (core.facts.summary.summarise), by host.
        A host written since its summary was made is summarised again from its rows (a machine's
        results: its noise floor needs them all), and the new summary kept when the store can be
        written and nobody wrote to that host meanwhile; else it is recomputed next time."""
        from core.facts.summary import INPUT_COLUMNS, summarise

        if not self._has_summaries:
            return {}  # a read-only store of an older schema that has none: nothing summarised
        with self._reading(), self._engine.connect() as conn:
            kept = conn.execute(sa.select(summaries_table.c.host_key, summaries_table.c.seq,
                                          summaries_table.c.body)).all()
        found, fresh = {}, []
        for key, seq, body in kept:
            if body is not None:
                found[_host_of(key)] = json.loads(body)
                continue
            host = _host_of(key)
            rows = (dict(zip(INPUT_COLUMNS, row)) for chunk in
                    self.row_chunks(INPUT_COLUMNS, where={"host": [host]}) for row in chunk)
            found[host] = summarise(rows)
            fresh.append({"key": key, "old_seq": seq, "new_body": json.dumps(found[host])})
        if fresh and not self.read_only and self.damage is None:
            update = (summaries_table.update()
                      .where(summaries_table.c.host_key == sa.bindparam("key"),
                             summaries_table.c.seq == sa.bindparam("old_seq"))
                      .values(body=sa.bindparam("new_body")))
            try:
                with self._engine.begin() as conn:
                    conn.execute(update, fresh)
            except sa.exc.SQLAlchemyError:
                pass  # a role that may not write, a locked file: the summaries are recomputed next time
        return {host: summary for host, summary in found.items() if summary["configs"]}

    def run_ids(self, newest: int | None = None) -> list[str]:
        """Stored run ids: every one, sorted; or those of the ``newest`` runs, newest first (read from
        the newest results backwards until that many runs are found, at most RUN_SCAN_ROWS results)."""
        if newest is None:
            with self._reading(), self._engine.connect() as conn:
                return list(conn.execute(sa.select(rows_table.c.run_id).distinct()
                                         .order_by(rows_table.c.run_id)).scalars())
        found: dict[str, None] = {}
        for chunk in self.row_chunks(["run_id"], chunk_rows=5_000, newest=RUN_SCAN_ROWS):
            found.update(dict.fromkeys(row[0] for row in chunk))
            if len(found) >= newest:
                break
        return list(found)[:newest]

    def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored."""
        found: set[str] = set()
        with self._reading(), self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                found.update(conn.execute(sa.select(results_table.c.id).where(
                    results_table.c.id.in_(list(ids[start:start + 500])))).scalars())
        return found

    def results_by_id(self, ids: Sequence[str]) -> list[ProbeResult]:
        """The stored results of ``ids`` (those stored), oldest first."""
        results = []
        with self._reading(), self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(sa.select(results_table.c.payload).where(
                    results_table.c.id.in_(list(ids[start:start + 500])))).scalars()
                results.extend(result_of(payload) for payload in rows)
        return sorted(results, key=lambda r: (r.created_at, r.id))

    def change_stamp(self) -> tuple:
        """Changes whenever results are added or deleted: every write bumps the seq of the hosts it
        touches (host_summaries, a row per host), so the stamp is one small table's seq total and row
        count, never a count of the results (on PostgreSQL a scan of the whole table: seconds at 1M).
        A store without that table (an older one opened read-only): (number of results, newest
        created_at), two queries each answered from an index."""
        with self._reading(), self._engine.connect() as conn:
            if self._has_summaries:
                total, hosts = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(summaries_table.c.seq), 0),
                                                      sa.func.count()).select_from(summaries_table)).one()
                return "writes", int(total), int(hosts)
            count = conn.execute(sa.select(sa.func.count()).select_from(rows_table)).scalar_one()
            latest = conn.execute(sa.select(sa.func.max(rows_table.c.created_at))).scalar_one()
        return count, latest or ""

    def runs(self) -> list[dict]:
        """One row per run: id, first timestamp, number of results."""
        query = (sa.select(rows_table.c.run_id, sa.func.min(rows_table.c.created_at), sa.func.count())
                 .group_by(rows_table.c.run_id).order_by(sa.func.min(rows_table.c.created_at)))
        with self._reading(), self._engine.connect() as conn:
            return [{"run_id": r[0], "started_at": r[1], "results": r[2]} for r in conn.execute(query)]

    def delete_run(self, run_id: str) -> int:
        with self._writing(), self._engine.begin() as conn:
            self._mark_stale(conn, conn.execute(sa.select(rows_table.c.host).where(rows_table.c.run_id == run_id)
                                                .distinct()).scalars().all())
            ids = sa.select(rows_table.c.id).where(rows_table.c.run_id == run_id).scalar_subquery()
            deleted = conn.execute(results_table.delete().where(results_table.c.id.in_(ids))).rowcount
            conn.execute(rows_table.delete().where(rows_table.c.run_id == run_id))
            return deleted

    # --- team price sheets ---------------------------------------------------------------------

    def save_price_sheet(self, name: str, csv_text: str, saved_by: str) -> int:
        """Keep a price sheet for the whole team as the next version of ``name``; returns that version.

        The CSV is validated whole first (core.views.pricing.parse_sheet: InvalidPriceSheet naming the
        row and column) and a bundled sheet's name is refused: nothing is written then. A read-only or
        damaged store refuses too (StoreError). Two editors saving the same name at once both succeed:
        the one that loses the race for a version number takes the next one."""
        from core.views import pricing  # the views layer, only when a sheet is saved

        name = name.strip() if isinstance(name, str) else ""
        if not SHEET_NAME.fullmatch(name):
            raise InvalidPriceSheet(f"{name[:80]!r} is not a usable sheet name: 1 to 64 letters, digits, spaces or "
                                    "_ . ( ) -, starting with a letter or digit")
        bundled = {sheet.name.casefold() for sheet in pricing.bundled_sheets()}
        if name.casefold() in bundled:
            raise InvalidPriceSheet(f"{name!r} is the name of a bundled price sheet; give the team sheet another "
                                    "name (bundled sheets are never replaced)")
        if isinstance(csv_text, bytes):
            try:
                csv_text = csv_text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InvalidPriceSheet(f"{name}.csv: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from None
        pricing.parse_sheet(csv_text, f"{name}.csv", origin="team")  # raises before anything is written
        row = {"name": name, "csv": csv_text, "saved_by": (saved_by or "unknown")[:200],
               "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        table = price_sheets_table
        with self._writing():
            table.create(self._engine, checkfirst=True)
            for attempt in (1, 2):
                try:
                    with self._engine.begin() as conn:
                        latest = conn.execute(sa.select(sa.func.max(table.c.version))
                                              .where(table.c.name == name)).scalar_one()
                        version = (latest or 0) + 1
                        conn.execute(table.insert().values(version=version, **row))
                    return version
                except sa.exc.IntegrityError:  # a parallel save took this version first
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _has_price_sheets(self, conn) -> bool:
        """False for a store opened read-only (or damaged) before the table existed: no team sheets."""
        return sa.inspect(conn).has_table(price_sheets_table.name)

    def price_sheets(self) -> list[dict]:
        """The latest version of every team sheet, by name: name, version, csv, saved_by, saved_at."""
        table = price_sheets_table
        latest = (sa.select(table.c.name, sa.func.max(table.c.version).label("version"))
                  .group_by(table.c.name).subquery())
        query = (sa.select(table.c.name, table.c.version, table.c.csv, table.c.saved_by, table.c.saved_at)
                 .join(latest, sa.and_(table.c.name == latest.c.name, table.c.version == latest.c.version))
                 .order_by(table.c.name))
        with self._reading(), self._engine.connect() as conn:
            if not self._has_price_sheets(conn):
                return []
            return [dict(row._mapping) for row in conn.execute(query)]

    def price_sheet_history(self, name: str) -> list[dict]:
        """Every version of one team sheet, oldest first: name, version, saved_by, saved_at (no csv)."""
        table = price_sheets_table
        query = (sa.select(table.c.name, table.c.version, table.c.saved_by, table.c.saved_at)
                 .where(table.c.name == name).order_by(table.c.version))
        with self._reading(), self._engine.connect() as conn:
            if not self._has_price_sheets(conn):
                return []
            return [dict(row._mapping) for row in conn.execute(query)]

    def price_sheets_stamp(self) -> tuple[int, str]:
        """(number of saved versions, newest saved_at): changes whenever a team sheet is saved."""
        table = price_sheets_table
        with self._reading(), self._engine.connect() as conn:
            if not self._has_price_sheets(conn):
                return 0, ""
            count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            latest = conn.execute(sa.select(sa.func.max(table.c.saved_at))).scalar_one()
        return count, latest or ""

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


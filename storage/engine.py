"""Engines, sessions and migrations.

The database URL is, in order: the ``url`` argument, ``DRIFTWARDEN_DATABASE_URL``,
or a SQLite file ``./driftwarden.db``. ``postgresql://`` URLs use psycopg 3.

SQLite is set up for several processes: WAL journal, a 30 s busy timeout, foreign
keys on, and every write transaction begun ``IMMEDIATE`` so two writers wait for
each other instead of failing on lock upgrade. Read-only work can use
:func:`read_engine`, whose transactions begin ``DEFERRED``. ``secure_delete`` is on,
so deleted and overwritten content (purged rows, replaced references) is zeroed in the
file instead of lingering in free space (docs/ingest.md, "Purge").

Migrations (Alembic, ``storage/migrations``) are applied automatically the first
time a process opens a URL, and by ``driftwarden db upgrade``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage.errors import DatabaseUnavailableError

ENV_URL = "DRIFTWARDEN_DATABASE_URL"
DEFAULT_URL = "sqlite:///driftwarden.db"
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).with_name("migrations")

GATE_TIMEOUT_S = 300.0

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """Resolve the database URL (argument, environment, default) and pick psycopg 3."""
    url = url or os.environ.get(ENV_URL) or DEFAULT_URL
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


class SQLiteGate:
    """Keeps two SQLite libraries from having one database file open at the same time.

    The stdlib ``sqlite3`` (used by SQLAlchemy) and the ADBC SQLite driver each carry
    their own copy of SQLite. POSIX advisory locks belong to the process, not to a
    library, so if both copies have the same file open, one copy's open or close can
    reset the WAL index under the other and corrupt the database
    (https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked into
    the same application"). Each copy may have any number of connections open, but
    only one copy at a time per process and file; the other waits. SQLAlchemy uses a
    ``NullPool`` on SQLite files so its connections close when they are returned.
    Other processes are unaffected (their locks are their own).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: str | None = None
        self._count = 0
        self._threads: dict[int, int] = {}

    def acquire(self, library: str, *, timeout: float = GATE_TIMEOUT_S) -> None:
        with self._cond:
            me = threading.get_ident()
            if self._owner not in (None, library) and self._threads.get(me):
                raise RuntimeError(
                    f"internal error: this thread has the SQLite database open through "
                    f"{self._owner} and now asks for {library}; close the first connection"
                )
            if not self._cond.wait_for(lambda: self._owner in (None, library), timeout):
                raise DatabaseUnavailableError(
                    f"timed out after {timeout:.0f} s waiting for the SQLite database "
                    f"(held through {self._owner})"
                )
            self._owner = library
            self._count += 1
            self._threads[me] = self._threads.get(me, 0) + 1

    def release(self) -> None:
        with self._cond:
            me = threading.get_ident()
            if self._threads.get(me):
                self._threads[me] -= 1
                if not self._threads[me]:
                    del self._threads[me]
            self._count -= 1
            if self._count <= 0:
                self._count = 0
                self._owner = None
                self._cond.notify_all()


_gates: dict[str, SQLiteGate] = {}
_gates_lock = threading.Lock()


def sqlite_gate(path: str) -> SQLiteGate:
    """The gate of one SQLite database file (by real path)."""
    key = os.path.realpath(path)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = SQLiteGate()
        return gate


def _setup_sqlite(engine: Engine) -> None:
    database = engine.url.database
    if database and database != ":memory:":
        gate = sqlite_gate(database)

        @event.listens_for(engine, "do_connect")
        def _gate_connect(dialect: Any, _rec: Any, cargs: Any, cparams: Any) -> Any:
            gate.acquire("sqlite3")
            try:
                return dialect.loaded_dbapi.connect(*cargs, **cparams)
            except BaseException:
                gate.release()
                raise

        @event.listens_for(engine.pool, "close")
        def _gate_close(_conn: Any, _rec: Any) -> None:
            gate.release()

        @event.listens_for(engine.pool, "close_detached")
        def _gate_close_detached(_conn: Any) -> None:
            gate.release()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The process-wide engine for ``url``, migrated to the newest schema on first use.

    Raises
    ------
    DatabaseUnavailableError
        If the database cannot be reached or migrated.
    """
    resolved = database_url(url)
    with _lock:
        engine = _engines.get(resolved)
        if engine is None:
            parsed = make_url(resolved)
            kwargs: dict[str, Any] = {}
            if parsed.get_backend_name() == "sqlite":
                if parsed.database and parsed.database != ":memory:":
                    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                kwargs["connect_args"] = {
                    "timeout": BUSY_TIMEOUT_MS / 1000,
                    "check_same_thread": False,
                }
                kwargs["poolclass"] = NullPool
            else:
                kwargs["pool_pre_ping"] = True
            engine = create_engine(resolved, **kwargs)
            if parsed.get_backend_name() == "sqlite":
                _setup_sqlite(engine)
            _engines[resolved] = engine
        if migrate and resolved not in _migrated:
            upgrade(engine)
            _migrated.add(resolved)
    return engine


def checkpoint_sqlite(engine: Engine) -> None:
    """Copy a SQLite database's write-ahead log into the file and truncate the log.

    After a purge or a replaced reference the old content is zeroed in the pages
    (``secure_delete``), but earlier versions of those pages may still sit in the
    ``-wal`` file until a checkpoint; ``TRUNCATE`` empties it. No-op elsewhere.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.close()
    finally:
        raw.close()


def read_engine(engine: Engine) -> Engine:
    """A view of ``engine`` whose SQLite transactions begin DEFERRED (for readers)."""
    return engine.execution_options(readonly=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session inside one transaction: commit on success, roll back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or ``None`` for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


SCHEMA_HEAD: Final = "0006"
"""The newest migration's revision (a test checks it against Alembic's script directory):
a database already there is opened without importing Alembic (~0.25 s per command)."""


def _stored_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version`` read with one query; ``None`` if there is none."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except ProgrammingError:
        return None  # PostgreSQL: no table yet, a new database
    except OperationalError as exc:
        if "no such table" in str(exc.orig):
            return None  # SQLite: a new database
        raise DatabaseUnavailableError(
            f"cannot open the database at {redact(str(engine.url))}: {exc.orig}"
        ) from exc


def upgrade(engine: Engine) -> str | None:
    """Apply every pending migration; return the revision reached."""
    if _stored_revision(engine) == SCHEMA_HEAD:
        return SCHEMA_HEAD
    from alembic import command

    try:
        if current_revision(engine) == head_revision():
            return head_revision()
        command.upgrade(_alembic_config(engine), "head")
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot open the database at {redact(str(engine.url))}: {exc.orig}"
        ) from exc
    return head_revision()


def dispose_all() -> None:
    """Close every engine (tests, forked processes)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()

"""Shared fixtures: real databases (SQLite file and a throwaway PostgreSQL cluster).

``database_url`` runs a test once on a fresh SQLite file and once on a fresh
PostgreSQL database. The PostgreSQL server is ``DRIFTWARDEN_TEST_POSTGRES_URL`` if
set, else a cluster started with ``scripts/pgcluster.py`` on port 55432 (reused if it
is already running). If PostgreSQL cannot be reached the PostgreSQL half is skipped —
except with ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
PG_DIR = REPO / ".pg"
PG_PORT = 55432
ENV_TEST_POSTGRES_URL = "DRIFTWARDEN_TEST_POSTGRES_URL"

# This conftest puts ``tests/`` on sys.path, where ``tests/monitors`` (no __init__.py)
# would shadow the real ``monitors`` package as a namespace package: the repository
# root must come first. It also makes ``scripts.pgcluster`` importable.
if sys.path[:1] != [str(REPO)]:
    sys.path.insert(0, str(REPO))


def _psycopg_conninfo(url: str, database: str | None = None) -> str:
    """A libpq URI for a SQLAlchemy URL (optionally for another database)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _start_cluster() -> str:
    """Start (or reuse) the test cluster; one process at a time (pytest-xdist workers)."""
    from scripts.pgcluster import start

    lock_path = Path(tempfile.gettempdir()) / f"driftwarden-pg-{PG_PORT}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return start(PG_DIR, PG_PORT)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """SQLAlchemy URL of a PostgreSQL server's ``postgres`` database (session-wide)."""
    try:
        import psycopg

        url = os.environ.get(ENV_TEST_POSTGRES_URL) or _start_cluster()
        with psycopg.connect(_psycopg_conninfo(url), connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to get a server means "no PostgreSQL here"
        reason = f"PostgreSQL is not available for tests: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: a missing PostgreSQL is a failure)")
        pytest.skip(reason)
    return url


def _create_database(server_url: str, name: str, *, template: str | None = None) -> None:
    import psycopg
    from psycopg import sql

    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        query += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
    with psycopg.connect(_psycopg_conninfo(server_url), autocommit=True) as conn:
        conn.execute(query)


def _drop_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_psycopg_conninfo(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """Name of a database migrated once per session, copied for each test (fast set-up)."""
    from storage.engine import dispose_all, get_engine

    name = f"dw_template_{uuid.uuid4().hex}"
    _create_database(postgres_server_url, name)
    try:
        get_engine(_database_url(postgres_server_url, name))
        dispose_all()  # a template must have no open connections
        yield name
    finally:
        dispose_all()
        _drop_database(postgres_server_url, name)


def _fresh_postgres_database(server_url: str, *, template: str | None = None) -> Iterator[str]:
    name = f"dw_{uuid.uuid4().hex}"
    _create_database(server_url, name, template=template)
    try:
        yield _database_url(server_url, name)
    finally:
        from storage.engine import dispose_all

        dispose_all()
        _drop_database(server_url, name)


def _sqlite_file_url(tmp_path: Path) -> Iterator[str]:
    try:
        yield f"sqlite:///{tmp_path / 'driftwarden.db'}"
    finally:
        from storage.engine import dispose_all

        dispose_all()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a new database: a SQLite file, then a fresh PostgreSQL database.

    The PostgreSQL database is a copy of a migrated template (creating and migrating
    one per test is slow); the SQLite file does not exist yet. Either way the first
    ``storage.engine.get_engine`` brings it to the newest schema.
    """
    if request.param == "sqlite":
        yield from _sqlite_file_url(tmp_path)
    else:
        server = request.getfixturevalue("postgres_server_url")
        template = request.getfixturevalue("postgres_template")
        yield from _fresh_postgres_database(server, template=template)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no tables at all (migration tests), on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield from _sqlite_file_url(tmp_path)
    else:
        yield from _fresh_postgres_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty SQLite file database (for tests that do not depend on the backend)."""
    yield from _sqlite_file_url(tmp_path)


@pytest.fixture
def postgres_url(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database (PostgreSQL-only tests)."""
    yield from _fresh_postgres_database(postgres_server_url, template=postgres_template)

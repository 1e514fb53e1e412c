"""Fixtures of the collector-service tests (helpers in :mod:`tests.monitors.service.support`).

``service_url`` is a database per test module, once on a SQLite file and once on
PostgreSQL (a copy of the session's migrated template), with the ``credit`` model
registered; ``keys`` are API keys of every scope; ``server`` is ``driftwarden serve``
on it, a real process on a free port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.monitors.service.support import Keys, Server, make_keys, pg_database, register


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def service_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database for one test module with ``credit`` registered (SQLite, then PostgreSQL)."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("service-sqlite")
        url = f"sqlite:///{folder / 'driftwarden.db'}"
        register(url)
        yield url
        from storage.engine import dispose_all

        dispose_all()
        return
    server = request.getfixturevalue("postgres_server_url")
    template = request.getfixturevalue("postgres_template")
    for url in pg_database(server, template):
        register(url)
        yield url


@pytest.fixture(scope="module")
def keys(service_url: str) -> Keys:
    """Keys of every kind in the module's database."""
    return make_keys(service_url)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def server(service_url: str, keys: Keys, workdir: Path) -> Iterator[Server]:
    """``driftwarden serve`` on the module's database, default limits."""
    running = Server(service_url, workdir)
    yield running
    running.stop()

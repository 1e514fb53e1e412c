"""Fixtures of the report tests: a small monitored model in a temporary SQLite database.

Module-scoped so that the slow parts (migrations, WeasyPrint) run once per test file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report_helpers import MonitoredModel, make_frame, register, seed_history


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoredModel]:
    """A SQLite database holding :data:`MODEL` with its rows, metrics and alert history."""
    url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "dw.db")
    frame = make_frame()
    register(url, frame)
    seed_history(url)
    yield MonitoredModel(url=url, frame=frame)


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key."""
    return Ed25519PrivateKey.generate()

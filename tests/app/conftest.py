"""Fixtures of the dashboard tests: the lending demo database, built once and cached.

The demo (model ``credit``, 60 daily windows at 200 rows a day, demo alert rules,
analysed) takes about three minutes to build, so it is built once into pytest's cache
directory, keyed by a hash of the demo generator and the database schema
(:data:`BUILD_INPUTS`), and reused until they change. Each test gets its own copy.
The tests compare what the pages show with the database itself, so a cached database
built by older analyzers still tests the pages correctly.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAIN = str(REPO / "app" / "main.py")
ROWS_PER_DAY = 200


BUILD_INPUTS = ("monitors/demo", "storage/migrations", "storage/models.py")


def _code_hash() -> str:
    digest = hashlib.sha256()
    for name in BUILD_INPUTS:
        base = REPO / name
        for path in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build(path: Path) -> None:
    from monitors.demo.lending import apply_demo_rules, load_demo
    from monitors.pipeline.run import run_pass
    from storage.engine import dispose_all

    url = f"sqlite:///{path}"
    scenario = load_demo(url, rows_per_day=ROWS_PER_DAY)
    apply_demo_rules(url)
    run_pass(url=url, now=scenario.end)
    dispose_all()


@pytest.fixture(scope="session")
def demo_db(pytestconfig: pytest.Config) -> Path:
    """Path of the analysed demo database (read it through a copy: :func:`demo_url`)."""
    cache = Path(pytestconfig.cache.mkdir("driftwarden-demo"))
    target = cache / f"demo-{ROWS_PER_DAY}-{_code_hash()}.db"
    with open(cache / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one pytest-xdist worker builds, the other waits
        try:
            if not target.exists():
                for old in cache.glob("demo-*.db*"):
                    old.unlink()
                partial = target.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                _build(partial)
                for suffix in ("-wal", "-shm"):
                    Path(f"{partial}{suffix}").unlink(missing_ok=True)
                partial.rename(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


@pytest.fixture
def demo_url(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private copy of the demo database, set as ``DRIFTWARDEN_DATABASE_URL``."""
    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_db, copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    yield url
    from storage.engine import dispose_all

    dispose_all()


@pytest.fixture
def empty_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    yield url
    from storage.engine import dispose_all

    dispose_all()

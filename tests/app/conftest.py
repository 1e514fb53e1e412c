"""Fixtures of the dashboard tests: the lending demo database, built once and cached.

The demo (model ``credit``, 60 daily windows at 200 rows a day, demo alert rules,
analysed) takes about three minutes to build, so it is built once into pytest's cache
directory, keyed by a hash of the demo generator, the analyzers, the analysis pass and
the database schema (:data:`BUILD_INPUTS`), and reused until they change. Each test
gets its own copy. The tests compare what the pages show with the database itself.
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


BUILD_INPUTS = (
    "monitors/demo",
    "monitors/analyzers",
    "monitors/compare",
    "monitors/pipeline",
    "storage/migrations",
    "storage/models.py",
)


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
def demo_db(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the analysed demo database (read it through a copy: :func:`demo_url`).

    The cached build is copied into this session's temporary directory while the lock is
    held, so another pytest process that rebuilds the cache for other code cannot remove
    it under this session.
    """
    cache = Path(pytestconfig.cache.mkdir("driftwarden-demo"))
    target = cache / f"demo-{ROWS_PER_DAY}-{_code_hash()}.db"
    mine = tmp_path_factory.mktemp("demo") / target.name
    with open(cache / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds, the others wait
        try:
            if not target.exists():
                for old in [*cache.glob("demo-*.db*"), *cache.glob("demo-*.partial*")]:
                    old.unlink(missing_ok=True)
                partial = target.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                _build(partial)
                for suffix in ("-wal", "-shm"):
                    Path(f"{partial}{suffix}").unlink(missing_ok=True)
                partial.rename(target)
            shutil.copyfile(target, mine)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return mine


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

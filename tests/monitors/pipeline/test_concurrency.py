"""Two ``driftwarden run`` processes on one database never analyse a window twice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from pipeline_support import MODEL, START, counts, duplicate_keys, production, register

REPO = Path(__file__).resolve().parents[3]
DAYS = 4


def _runner(url: str, now: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DRIFTWARDEN_DATABASE_URL=url, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("DRIFTWARDEN_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-c", "from monitors.cli import app; app()", "run", "--now", now],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_runners_never_analyse_a_window_twice(database_url: str) -> None:
    client = register(database_url)
    client.log(MODEL, production(DAYS, labels=True))
    from storage.engine import dispose_all

    dispose_all()
    now = (START + timedelta(days=DAYS, hours=1)).isoformat()
    runners = [_runner(database_url, now) for _ in range(2)]
    outputs = [r.communicate(timeout=300) for r in runners]
    for runner, (_out, err) in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, err
        assert "IntegrityError" not in err and "UNIQUE" not in err.upper(), err
    analysed = []
    for out, _ in outputs:
        first = out.splitlines()[0]  # "analysed N window(s), re-analysed M ..."
        assert first.startswith("analysed "), out
        analysed.append(int(first.split()[1]))
    assert sum(analysed) == DAYS
    n_metrics, n_runs = counts(database_url)
    assert n_runs == DAYS
    assert n_metrics > 0
    assert duplicate_keys(database_url) == []

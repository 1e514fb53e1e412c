"""Concurrent conflicting ingests lose nothing and report the truth (SQLite and PostgreSQL).

Several real processes ingest files with the same prediction ids at the same moment, each
file with other values in one column. Whatever the interleaving, every row of every file
is either stored or quarantined as a conflicting duplicate, the counts each process reports
add up to the rows in the tables, and each batch record says what its batch did. On
PostgreSQL (READ COMMITTED) the conflict check used to run before the other process's rows
were committed: the losing process reported rows "stored" that were in no table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.models import IngestBatch, QuarantinedRow
from storage.registry import get_model

WORKER = Path(__file__).with_name("ingest_worker.py")
REPO = Path(__file__).resolve().parents[2]
ROWS = 20_000
REPEATS = 5
START = pd.Timestamp("2024-03-01", tz="UTC")


def _file(n: int, variant: int) -> pd.DataFrame:
    """``n`` rows with ids ``id0…``; ``variant`` shifts the ``x`` column (one column differs)."""
    rng = np.random.default_rng(7)
    idx = np.arange(n)
    return pd.DataFrame(
        {
            "id": [f"id{i}" for i in idx],
            "ts": (START + pd.to_timedelta(idx, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x": np.round(rng.normal(0.0, 1.0, n), 6) + variant,
            "g": rng.choice(["a", "b"], n),
            "yhat": rng.integers(0, 2, n),
        }
    )


def _register(client: Client, name: str) -> None:
    reference = _file(20, 0)
    reference["ts"] = pd.to_datetime(reference["ts"], utc=True)
    client.register_model(
        name,
        task="binary_classification",
        reference=reference,
        id="id",
        timestamp="ts",
        prediction="yhat",
        sensitive=["g"],
    )


class _Workers:
    """``n`` pre-imported worker processes that start each ingest on a shared signal."""

    def __init__(self, url: str, folder: Path, n: int) -> None:
        self.folder = folder
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), url, str(folder)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for _ in range(n)
        ]
        for proc in self.procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"

    def race(self, model: str, files: list[Path]) -> list[dict[str, Any]]:
        """Every worker ingests its file into ``model`` at the same moment."""
        for proc, file in zip(self.procs, files, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(f"go {model} {file}\n")
            proc.stdin.flush()
        (self.folder / f"go-{model}").touch()
        results = []
        for proc in self.procs:
            assert proc.stdout is not None
            results.append(json.loads(proc.stdout.readline()))
        return results

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=60)


def _stored_and_quarantined(
    url: str, model: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The model's log (id, x), its quarantine (batch, id, kind) and its batch records."""
    stored = Client(url).load_window(model, columns=["id", "x"])
    with session_scope(get_engine(url)) as session:
        m = get_model(session, model)
        quarantine = pd.DataFrame(
            session.execute(
                select(
                    QuarantinedRow.batch_id, QuarantinedRow.prediction_id, QuarantinedRow.kind
                ).where(QuarantinedRow.model_id == m.id)
            ).all(),
            columns=["batch_id", "prediction_id", "kind"],
        )
        batches = {
            b.id: b
            for b in session.scalars(select(IngestBatch).where(IngestBatch.model_id == m.id))
        }
    return stored, quarantine, batches


def _check(url: str, model: str, frames: list[pd.DataFrame], results: list[dict[str, Any]]) -> None:
    """Nothing lost, nothing counted twice, every report and batch record true."""
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    stored, quarantine, batches = _stored_and_quarantined(url, model)
    # every id is stored exactly once, with the values of one of the files
    assert len(stored) == ROWS and stored["id"].is_unique
    assert sum(r["stored"] for r in results) == len(stored)
    assert sum(r["quarantined"] for r in results) == len(quarantine)
    assert set(quarantine["kind"]) <= {"conflict"}
    by_batch = batches
    x_stored = stored.set_index("id")["x"]
    for frame, result in zip(frames, results, strict=True):
        assert result["rows"] == ROWS
        assert (
            result["stored"]
            + result["already_present"]
            + result["quarantined"]
            + result["already_quarantined"]
            == ROWS
        ), result
        assert result["conflicts"] == result["quarantined"] + result["already_quarantined"]
        record = by_batch[result["batch_id"]]
        assert (record.n_rows, record.stored, record.already_present) == (
            result["rows"],
            result["stored"],
            result["already_present"],
        )
        assert (record.conflicts, record.quarantined) == (
            result["conflicts"],
            result["quarantined"],
        )
        # each row of this file: stored with its values, or quarantined from this batch
        mine = frame.set_index("id")["x"]
        kept = np.isclose(x_stored.loc[mine.index].to_numpy(), mine.to_numpy(), rtol=0, atol=1e-9)
        quarantined_ids = quarantine.loc[
            quarantine["batch_id"] == result["batch_id"], "prediction_id"
        ]
        assert quarantined_ids.is_unique
        assert set(quarantined_ids) == set(mine.index[~kept]), (
            "a row neither stored nor quarantined"
        )
        assert result["stored"] == int(kept.sum())


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 4])
def test_concurrent_conflicting_ingests_lose_nothing(
    database_url: str, tmp_path: Path, processes: int
) -> None:
    client = Client(database_url)
    frames = [_file(ROWS, variant) for variant in range(processes)]
    files = []
    for variant, frame in enumerate(frames):
        path = tmp_path / f"file{variant}.csv"
        frame.to_csv(path, index=False)
        files.append(path)
    models = [f"race{rep}" for rep in range(REPEATS)]
    for model in models:
        _register(client, model)
    workers = _Workers(database_url, tmp_path, processes)
    try:
        for model in models:
            results = workers.race(model, files)
            _check(database_url, model, frames, results)
    finally:
        workers.close()


@pytest.mark.slow
def test_two_driftwarden_ingest_commands_at_once(database_url: str, tmp_path: Path) -> None:
    """As reported: two ``driftwarden ingest`` processes, same ids, one column differs."""
    client = Client(database_url)
    _register(client, "cli")
    files = []
    for variant in range(2):
        path = tmp_path / f"cli{variant}.csv"
        _file(ROWS, variant).to_csv(path, index=False)
        files.append(path)
    command = [str(Path(sys.executable).with_name("driftwarden")), "ingest", "cli"]
    env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": database_url}
    procs = [
        subprocess.Popen([*command, str(f)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
        for f in files
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    stored, quarantine, batches = _stored_and_quarantined(database_url, "cli")
    assert len(stored) == ROWS and stored["id"].is_unique
    assert sum(b.stored for b in batches.values()) == ROWS
    assert sum(b.quarantined for b in batches.values()) == len(quarantine) == ROWS
    reported = sorted(
        re.findall(r"stored (\d+), already present (\d+), quarantined (\d+)", "".join(outputs))
    )
    recorded = sorted(
        (str(b.stored), str(b.already_present), str(b.quarantined)) for b in batches.values()
    )
    assert reported == recorded == [("0", "0", str(ROWS)), (str(ROWS), "0", "0")]

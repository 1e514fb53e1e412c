"""Helpers of the collector-service tests: rows of the ``credit`` model, API keys, and
``driftwarden serve`` started as a real process on a free port (fixtures in conftest.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from monitors.collectors import Client
from monitors.service.keys import create_key

MODEL = "credit"
START = pd.Timestamp("2024-03-01", tz="UTC")
START_TIMEOUT_S = 60.0
#: The console script next to this Python, as deploy/ and the README run it.
DRIFTWARDEN = Path(sys.executable).with_name("driftwarden")


def predictions(n: int, *, prefix: str = "r", seed: int = 0, start: int = 0) -> pd.DataFrame:
    """``n`` valid rows of ``credit`` (no label): ids ``<prefix><i>``, one minute apart."""
    rng = np.random.default_rng(seed)
    idx = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in idx],
            "ts": START + pd.to_timedelta(idx, unit="min"),
            "age": rng.normal(40.0, 10.0, n).round(3),
            "region": rng.choice(["north", "south", "east"], n).astype(object),
            "sex": rng.choice(["F", "M"], n).astype(object),
            "yhat": rng.integers(0, 2, n),
            "p": rng.random(n).round(6),
        }
    )


def register(url: str, name: str = MODEL) -> None:
    """Register the ``credit`` binary classifier (label ``y`` comes later)."""
    reference = predictions(60, prefix="ref", seed=1)
    reference["y"] = np.random.default_rng(2).integers(0, 2, len(reference))
    Client(url).register_model(
        name,
        task="binary_classification",
        reference=reference,
        id="id",
        timestamp="ts",
        prediction="yhat",
        score="p",
        label="y",
        sensitive=["sex"],
    )


def json_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready objects (timestamps ISO 8601)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in out.to_dict(orient="records")
    ]


@dataclass(frozen=True)
class Keys:
    """API keys of every kind, created in the test database."""

    ingest: str
    read: str
    admin: str
    read_credit: str  # read, restricted to ``credit``
    ingest_other: str  # ingest, restricted to a model ``other``


def make_keys(url: str) -> Keys:
    """Create one key of each kind."""
    return Keys(
        ingest=create_key(url, "ingester", scope="ingest").key,
        read=create_key(url, "reader", scope="read").key,
        admin=create_key(url, "admin", scope="admin").key,
        read_credit=create_key(url, "credit-reader", scope="read", model=MODEL).key,
        ingest_other=create_key(url, "other-ingester", scope="ingest", model="other").key,
    )


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``driftwarden serve`` in a subprocess; its log in a file."""

    def __init__(self, url: str, workdir: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        command = [str(DRIFTWARDEN) if DRIFTWARDEN.exists() else sys.executable]
        if not DRIFTWARDEN.exists():
            command += ["-m", "monitors.cli"]
        env = {**os.environ, "DRIFTWARDEN_DATABASE_URL": url}
        self.proc = subprocess.Popen(
            [*command, "serve", "--port", str(self.port), *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until ``/healthz`` answers 200 (fail with the log otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"driftwarden serve did not start:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        """Everything the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def client(self, key: str | None = None, **kwargs: object) -> httpx.Client:
        """An httpx client on the service (with ``Authorization: Bearer key``)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 15 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def pg_database(server_url: str, template: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database (a copy of ``template``, or empty), dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"dw_svc_{uuid.uuid4().hex[:16]}"
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        conn.execute(query)
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from storage.engine import dispose_all

        dispose_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def store_results(url: str, model: str = MODEL) -> tuple[datetime, datetime, datetime]:
    """Two analysed windows of results (the last two days) and two alert series.

    Window 1 has drift, accuracy and fairness per group (one group too small); window 2
    has drift and one group only, so accuracy's latest value is window 1's.
    Returns the window bounds ``(start1, start2, end2)``.
    """
    from monitors.analyzers.base import MetricRecord
    from storage.engine import get_engine, session_scope
    from storage.metrics import store_window
    from storage.models import AlertRule, AlertSeries
    from storage.registry import get_model

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    s1, s2 = end - timedelta(days=2), end - timedelta(days=1)
    first = [
        MetricRecord("drift", "psi", "age", None, 0.05, 0.2, "ok", {"n": 100}),
        MetricRecord("drift", "psi", "region", None, 0.1, 0.2, "ok"),
        MetricRecord("performance", "accuracy", None, None, 0.8, None, "ok"),
        MetricRecord("fairness", "selection_rate", "sex", "sex=F", 0.4, None, "ok"),
        MetricRecord("fairness", "selection_rate", "sex", "sex=M", 0.5, None, "ok"),
        MetricRecord("fairness", "selection_rate", "sex", "sex=X", 0.9, None, "insufficient_data"),
        MetricRecord("quality", "missing_share", "age", None, None, None, "insufficient_data"),
    ]
    second = [
        MetricRecord("drift", "psi", "age", None, 0.3, 0.2, "drift"),
        MetricRecord("drift", "psi", "region", None, 0.12, 0.2, "ok"),
        MetricRecord("fairness", "selection_rate", "sex", "sex=F", 0.45, None, "ok"),
    ]
    with session_scope(get_engine(url)) as session:
        stored = get_model(session, model)
        for start, records in ((s1, first), (s2, second)):
            store_window(
                session,
                stored,
                window_start=start,
                window_end=start + timedelta(days=1),
                records=records,
                n_rows=100,
                n_labels=50,
                reference_version=1,
            )
        for name, state in (("psi-high", "firing"), ("acc-low", "ok")):
            rule = AlertRule(
                name=f"{model}-{name}",
                model=model,
                metric="psi" if name == "psi-high" else "accuracy",
                feature="age" if name == "psi-high" else None,
                op=">",
                threshold=0.2,
                severity="critical",
            )
            session.add(rule)
            session.flush()
            session.add(AlertSeries(rule_id=rule.id, feature=rule.feature or "", state=state))
    return s1, s2, end

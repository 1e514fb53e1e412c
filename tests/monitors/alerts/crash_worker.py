"""Runner for the SIGKILL test: a pre-imported "zygote" that forks one runner per command.

Started as ``python crash_worker.py DATABASE_URL``. For each line ``go`` on stdin it forks
a child that runs passes until every window is stored, evaluated and delivered (each
pass: store the next window's metric rows, ``evaluate_rules``, ``deliver``), prints
``pid <pid>``, waits for the child and prints ``exit <status>``. The test kills children
with SIGKILL at random moments. Forking from a process that has already imported
everything keeps each restart cheap.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from monitors.alerts.engine import evaluate_rules
from monitors.alerts.outbox import deliver
from storage.engine import dispose_all, get_engine, session_scope
from storage.models import MetricResult, Model, OutboxMessage

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FEATURES = ("age", "income")
N_WINDOWS = 24
CHILD_DEADLINE_SECONDS = 60


def value(i: int, feature: str) -> float:
    """Deterministic metric value of window ``i`` (a mix of streaks and flapping)."""
    pattern = "BBOBBBOOBOBOBBBBOOOBBOBB" if feature == "age" else "OBBOOBBBOBOOOBBOBBBOOBOB"
    return 0.5 if pattern[i % len(pattern)] == "B" else 0.1


def store_window(engine, model_id: int, i: int) -> None:
    """Store window ``i``'s rows in one transaction (a duplicate window is refused)."""
    start = T0 + timedelta(days=i)
    try:
        with session_scope(engine) as session:
            for feature in FEATURES:
                session.add(
                    MetricResult(
                        model_id=model_id,
                        window_start=start,
                        window_end=start + timedelta(days=1),
                        analyzer="drift",
                        metric="psi",
                        feature=feature,
                        group="",
                        value=value(i, feature),
                        threshold=0.2,
                        status="ok",
                        details={},
                    )
                )
    except IntegrityError:
        pass  # stored by a pass that was killed after committing


def run(url: str) -> None:
    """Passes until all windows are stored and nothing is left to deliver."""
    engine = get_engine(url)
    with session_scope(engine) as session:
        model_id = session.scalar(select(Model.id).where(Model.name == "credit"))
    assert model_id is not None
    while True:
        with session_scope(engine) as session:
            stored = session.scalar(
                select(func.count(func.distinct(MetricResult.window_start))).where(
                    MetricResult.model_id == model_id
                )
            )
        if stored is not None and stored < N_WINDOWS:
            store_window(engine, model_id, stored)
        evaluate_rules(engine, now=datetime.now(UTC))
        deliver(engine, now=datetime.now(UTC))
        if stored is not None and stored >= N_WINDOWS:
            with session_scope(engine) as session:
                pending = session.scalar(
                    select(func.count()).where(OutboxMessage.status == "pending")
                )
            if not pending:
                return


def main() -> None:
    url = sys.argv[1]
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.alarm(CHILD_DEADLINE_SECONDS)  # a stuck runner dies instead of hanging
                dispose_all()
                run(url)
            except BaseException as exc:  # report, the test fails on a non-zero exit
                print(f"child error {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                code = 1
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


if __name__ == "__main__":
    main()

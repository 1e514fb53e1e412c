"""Benchmark the alert-rule backtest: 20 rules over 365 daily windows of 20 models.

Data: the dashboard benchmark's results database (``bench/dashboard.py``'s ``build``:
``--models`` models × ``--days`` daily windows, about 770 stored metric rows a window
shaped like the lending demo's — drift per feature, quality per column, performance,
fairness for 74 groups with intervals), built into ``--db`` if it is not there yet
(several minutes; ``make bench`` runs ``bench/dashboard.py`` first, which builds it).

Timed: :func:`monitors.alerts.backtest.backtest` of 20 rules, one per model, of five
kinds — ``psi`` of every feature (``> 0.2`` for 2, repeat 2d, one channel),
``drift_detected`` of every feature, model-level ``accuracy < 0.6`` for 3,
``selection_rate`` of each group of ``group`` (``< 0.4``, with ``require_significant``) and
``disparate_impact_ratio`` of every attribute (``< 0.8`` for 2) — reading only stored
metrics, from a new engine each time (cold), best and median of ``--repeat`` runs;
then a 9-value threshold sweep of one rule. Target: the 20 rules <= 2 s.
Prints one JSON object per line.

Run: ``.venv/bin/python bench/backtest.py [--db PATH] [--models N] [--days D] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit

from monitors.alerts.backtest import as_rule, backtest
from monitors.alerts.rules import RuleConfig, parse_rule_file
from storage.engine import dispose_all, get_engine

TARGET_SECONDS = 2.0
KINDS: list[dict[str, Any]] = [
    {"metric": "psi", "feature": "*", "op": ">", "threshold": 0.2, "for": 2, "repeat": "2d"},
    {"metric": "drift_detected", "feature": "*", "op": ">=", "threshold": 1},
    {"metric": "accuracy", "op": "<", "threshold": 0.6, "for": 3},
    {"metric": "selection_rate", "feature": "group", "group": "*", "op": "<", "threshold": 0.4},
    {"metric": "disparate_impact_ratio", "feature": "*", "op": "<", "threshold": 0.8, "for": 2},
]


def rule_file(models: int) -> str:
    """20 rules (one per model, the kinds in turn), each notifying one channel."""
    significant = "require_significant" in RuleConfig.model_fields
    rules = []
    for m in range(20):
        kind = dict(KINDS[m % len(KINDS)])
        if kind["metric"] == "selection_rate" and significant:
            kind["require_significant"] = True
        name = f"model_{m % models:02d}"
        rules.append({"name": f"rule-{m:02d}", "model": name, "channels": ["oncall"], **kind})
    import yaml

    channels = {"oncall": {"type": "email", "to": ["oncall@example.com"]}}
    return yaml.safe_dump({"channels": channels, "rules": rules}, sort_keys=False)


def ensure_database(path: Path, models: int, days: int) -> str:
    """The results database, built with the dashboard benchmark's builder if missing."""
    url = f"sqlite:///{path}"
    if not path.exists():
        from dashboard import build

        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        rows = build(url, models, days)
        emit(
            {
                "bench": "backtest_build",
                "models": models,
                "days": days,
                "metric_rows": rows,
                "seconds": time.perf_counter() - t0,
            }
        )
        dispose_all()
    return url


def timed(url: str, rules: list[Any], repeat: int) -> tuple[list[float], list[float], list[Any]]:
    """Wall and CPU seconds of each cold run (new engine) and the last run's results.

    CPU seconds (this process) say what the backtest costs when the machine is shared.
    """
    seconds: list[float] = []
    cpu: list[float] = []
    results: list[Any] = []
    for _ in range(repeat):
        dispose_all()
        engine = get_engine(url, migrate=False)
        t0, c0 = time.perf_counter(), time.process_time()
        results = backtest(engine, rules)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return seconds, cpu, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="bench/results/dashboard.db")
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = ensure_database(Path(args.db).resolve(), args.models, args.days)
    rules = [
        as_rule(c, rule_id=i + 1)
        for i, c in enumerate(parse_rule_file(rule_file(args.models)).rules)
    ]
    seconds, cpu, results = timed(url, rules, args.repeat)
    series = [s for r in results for s in r.series]
    best = min(seconds)
    emit(
        {
            "bench": "backtest",
            "backend": "sqlite",
            "rules": len(rules),
            "models": len({r.model for r in rules}),
            "windows": max(r.windows for r in results),
            "series": len(series),
            "series_windows": sum(s.windows for s in series),
            "episodes": sum(r.episodes for r in results),
            "notifications": sum(r.notifications for r in results),
            "seconds_best": best,
            "seconds_median": statistics.median(seconds),
            "cpu_seconds_best": min(cpu),
            "target_seconds": TARGET_SECONDS,
            "ok": best <= TARGET_SECONDS,
        }
    )
    from dataclasses import replace

    base = rules[0]
    variants = [replace(base, threshold=round(0.1 + 0.025 * i, 3)) for i in range(9)]
    sweep_seconds, _, _ = timed(url, variants, args.repeat)
    emit(
        {
            "bench": "backtest_sweep",
            "backend": "sqlite",
            "rule": base.name,
            "values": len(variants),
            "seconds_best": min(sweep_seconds),
        }
    )
    dispose_all()
    if best > TARGET_SECONDS:
        sys.exit(1)


if __name__ == "__main__":
    main()

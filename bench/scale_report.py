"""Benchmark of reports from stored window summaries (issue #18, point 5). JSON lines.

Usage: ``python bench/scale_report.py [--days 30] [--rows 1000000] [--equal-days 2]
[--equal-rows 200000] [--skip-report] [--skip-equal]``

Data: ``bench/scale.py``'s log (20 numeric, 5 categorical, 2 sensitive attributes, score,
prediction, label; fixed seeds) and its 100,000-row reference, in a fresh SQLite database.

Measurements, one JSON object per line:

* ``report_setup``: summarising ``--days`` daily windows of ``--rows`` rows each
  (``summarize_frame``) and storing each summary with its window run, as the pass does;
  the rows themselves are not logged (as after ``purge``);
* ``report_summaries``: ``driftwarden report`` (``export_report``, JSON) over those days,
  in a child process: wall time (imports included) and the child's peak RSS. Targets
  (issue #18): at most 30 s and 500 MB for 30 days of 1,000,000-row windows;
* ``report_paths_equal``: ``--equal-days`` windows of ``--equal-rows`` rows really logged
  and analysed by a pass; the report once from the rows (the summary path switched off in
  the child) and once from the stored summaries, each in its own child: whether the
  content hashes are equal, and both wall times.

Everything runs on whatever else the machine is doing: read the figures with its load
(``load_avg`` in every record).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import child_json, emit  # noqa: E402
from scale import START, load_avg, make_log, peak_rss_mb, schema_of  # noqa: E402

MODEL = "scale"


def _register(url: str, config: dict[str, Any] | None = None) -> pd.DataFrame:
    """The benchmark model in ``url`` with its 100,000-row reference; the reference."""
    from monitors.collectors import Client

    reference = make_log(100_000, seed=1)
    Client(url).register_model(
        MODEL,
        task="binary_classification",
        schema=schema_of(reference),
        reference=reference,
        config=config,
    )
    return reference


def _day(rows: int, day: int) -> pd.DataFrame:
    """Day ``day``'s window: ``rows`` rows of the benchmark log (own seed, ids and day)."""
    frame = make_log(rows, seed=1000 + day, shift=0.2, offset=10_000_000 + day * rows)
    frame["ts"] = frame["ts"] + pd.Timedelta(days=day)
    return frame


def _store_summaries(url: str, reference: pd.DataFrame, days: int, rows: int) -> None:
    """Summarise each day's window and store it with its run, as the pass does."""
    from monitors.config import model_config
    from monitors.summaries.memory import summarize_frame
    from monitors.summaries.spec import build_spec
    from monitors.summaries.store import save_summary
    from storage.engine import get_engine, session_scope
    from storage.metrics import store_window
    from storage.registry import get_model, reference_version

    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, MODEL)
        version = reference_version(session, model)
        config = model_config(MODEL, model.config)
    assert version is not None
    spec = build_spec(
        reference,
        schema=schema_of(reference),
        reference_version=version,
        drift=config.drift,
        calibration_bins=config.performance.calibration_bins,
    )
    for day in range(days):
        summary = summarize_frame(_day(rows, day), spec)
        start = (START + pd.Timedelta(days=day)).to_pydatetime()
        end = (START + pd.Timedelta(days=day + 1)).to_pydatetime()
        with session_scope(engine) as session:
            model = get_model(session, MODEL)
            store_window(
                session,
                model,
                window_start=start,
                window_end=end,
                records=[],
                n_rows=summary.n_rows,
                n_labels=summary.n_labelled,
                reference_version=version,
            )
            save_summary(session, model, summary, spec, window_start=start, window_end=end)


# --------------------------------------------------------------------------- children
def child_report(url: str, days: int, out: str, *, rows: bool) -> dict[str, Any]:
    """``export_report`` (JSON) over ``days`` days in this process; ``rows``: row path."""
    started = time.perf_counter()
    from monitors.reports import export

    if rows:  # the private switch of this benchmark: never read stored summaries
        export.stored_fairness = lambda *args, **kwargs: None  # type: ignore[assignment]
    end = (START + pd.Timedelta(days=days)).to_pydatetime()
    result = export.export_report(
        url,
        MODEL,
        start=START.to_pydatetime(),
        end=end,
        out_dir=Path(out),
        formats=["json"],
        created_by="bench",
    )
    return {
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb": peak_rss_mb(),
        "sha256": result.report.content_sha256,
        "n_rows": result.report.content["data"]["n_rows"],
    }


def _child(args: list[str]) -> dict[str, Any]:
    """Run this script as a child with ``args``; its last stdout line as JSON."""
    return child_json(__file__, args)


def _report_child(url: str, days: int, out: Path, *, rows: bool = False) -> dict[str, Any]:
    """:func:`child_report` in its own process."""
    flags = ["--child-rows"] if rows else []
    return _child(["--child-report", url, str(days), str(out), *flags])


# --------------------------------------------------------------------------- parts
def bench_report(days: int = 30, rows: int = 1_000_000) -> None:
    """A report over ``days`` stored daily summaries of ``rows`` rows, rows purged."""
    with tempfile.TemporaryDirectory(prefix="dw_bench_report_") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        reference = _register(url)
        started = time.perf_counter()
        _store_summaries(url, reference, days, rows)
        emit({"bench": "report_setup", "days": days, "rows_per_day": rows,
              "wall_s": time.perf_counter() - started, "load_avg": load_avg()})  # fmt: skip
        result = _report_child(url, days, Path(tmp) / "out")
        emit({"bench": "report_summaries", "days": days, "rows_per_day": rows, **result,
              "load_avg": load_avg()})  # fmt: skip


def bench_paths_equal(days: int = 2, rows: int = 200_000) -> None:
    """Logged and analysed windows: the report from rows and from summaries, compared."""
    from monitors.collectors import Client
    from monitors.pipeline.run import run_pass
    from storage.engine import dispose_all

    with tempfile.TemporaryDirectory(prefix="dw_bench_report_") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        _register(url, config={"drift": {"multivariate": False}})
        client = Client(url)
        for day in range(days):
            frame = _day(rows, day)
            for part in np.array_split(np.arange(rows), max(1, rows // 250_000)):
                client.log(MODEL, frame.iloc[part])
        now = (START + pd.Timedelta(days=days + 1)).to_pydatetime()
        started = time.perf_counter()
        run_pass(url=url, now=now, alerts=False)
        pass_s = time.perf_counter() - started
        dispose_all()
        by_rows = _report_child(url, days, Path(tmp) / "rows", rows=True)
        by_summaries = _report_child(url, days, Path(tmp) / "summaries")
        same = by_rows.get("sha256") is not None and by_rows["sha256"] == by_summaries.get("sha256")
        emit({"bench": "report_paths_equal", "days": days, "rows_per_day": rows,
              "same_sha256": same,
              "row_s": by_rows.get("wall_s"), "summary_s": by_summaries.get("wall_s"),
              "row_peak_rss_mb": by_rows.get("peak_rss_mb"),
              "summary_peak_rss_mb": by_summaries.get("peak_rss_mb"), "pass_s": pass_s,
              "errors": [r["stderr"] for r in (by_rows, by_summaries) if "stderr" in r],
              "load_avg": load_avg()})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--equal-days", type=int, default=2)
    parser.add_argument("--equal-rows", type=int, default=200_000)
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--skip-equal", action="store_true")
    parser.add_argument("--child-report", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-rows", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_report:
        url, days, out = args.child_report
        print(json.dumps(child_report(url, int(days), out, rows=args.child_rows)))
        return
    if not args.skip_report:
        bench_report(args.days, args.rows)
    if not args.skip_equal:
        bench_paths_equal(args.equal_days, args.equal_rows)


if __name__ == "__main__":
    main()

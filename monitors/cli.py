"""``driftwarden`` command line.

Every command exits 0 on success and 1 on invalid input, with a one-line message on
stderr. ``--database-url`` defaults to ``DRIFTWARDEN_DATABASE_URL`` or the SQLite file
``./driftwarden.db``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from monitors.errors import MonitorError
from storage.errors import StorageError

app = typer.Typer(
    name="driftwarden",
    help="Watch ML models in production: drift, quality, performance, fairness, explanations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Register and list models.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DRIFTWARDEN_DATABASE_URL",
        help="SQLAlchemy URL (default: sqlite:///driftwarden.db).",
        show_envvar=True,
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except (MonitorError, StorageError, ValueError, LookupError) as exc:
        raise _fail(str(exc)) from exc


def _csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise _fail(f"{option}: expected an ISO 8601 time, got {value!r}") from exc
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


def _read_reference(path: Path, timestamp: str) -> pd.DataFrame:
    from monitors.errors import IngestError

    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read the file: {exc}") from exc
    if timestamp in frame.columns:
        frame[timestamp] = pd.to_datetime(frame[timestamp], utc=True, format="ISO8601")
    return frame


# -- models ---------------------------------------------------------------------
@models_app.command("register")
def models_register(
    name: Annotated[str, typer.Argument(help="Model name (letters, digits, _ . -).")],
    reference: Annotated[Path, typer.Option(help="Reference data (CSV or Parquet).")],
    task: Annotated[
        str, typer.Option(help="binary_classification, multiclass_classification or regression.")
    ],
    id: Annotated[str, typer.Option("--id", help="Column with the prediction id.")],
    timestamp: Annotated[str, typer.Option(help="Column with the prediction time.")],
    prediction: Annotated[str, typer.Option(help="Column with the prediction.")],
    score: Annotated[str | None, typer.Option(help="Probability of the positive class.")] = None,
    label: Annotated[str | None, typer.Option(help="Column with the true label.")] = None,
    sensitive: Annotated[str | None, typer.Option(help="Sensitive attributes, A,B.")] = None,
    categorical: Annotated[
        str | None, typer.Option(help="Numeric columns to treat as categories.")
    ] = None,
    latency_ms: Annotated[
        str | None, typer.Option(help="Column with serving latency (ms).")
    ] = None,
    window: Annotated[str, typer.Option(help="Window size: 1h, 1d, 7d, 1mo …")] = "1d",
    retention_days: Annotated[int | None, typer.Option(help="Purge rows older than this.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Register a model; its schema is inferred from the reference data with the roles named."""
    from monitors.collectors import Client

    with _errors():
        frame = _read_reference(reference, timestamp)
        info = Client(database_url).register_model(
            name,
            task=task,
            reference=frame,
            id=id,
            timestamp=timestamp,
            prediction=prediction,
            score=score,
            label=label,
            sensitive=_csv_list(sensitive),
            categorical=_csv_list(categorical),
            latency_ms=latency_ms,
            window=window,
            retention_days=retention_days,
        )
    features = ", ".join(c.name for c in info.schema.features)
    typer.echo(f"registered {info.name} ({info.task}, window {info.window}); features: {features}")


@models_app.command("list")
def models_list(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List registered models."""
    from monitors.collectors import Client

    with _errors():
        infos = Client(database_url).models()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": i.name,
                        "task": i.task,
                        "window": i.window,
                        "reference_version": i.reference_version,
                        "schema": i.schema.model_dump(mode="json"),
                    }
                    for i in infos
                ],
                indent=2,
            )
        )
        return
    if not infos:
        typer.echo("no models registered yet: driftwarden models register NAME --reference FILE …")
    for info in infos:
        typer.echo(
            f"{info.name}\t{info.task}\twindow={info.window}\tfeatures={len(info.schema.features)}"
            f"\treference=v{info.reference_version}"
        )


# -- ingest ---------------------------------------------------------------------
def _progress(path: Path) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from monitors.collectors.files import count_rows

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    return progress, count_rows(path)


@app.command("ingest")
def ingest(
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of predictions.")],
    strict: Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")] = False,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
    on_new_columns: Annotated[str, typer.Option(help="add, quarantine or error.")] = "add",
    database_url: DatabaseUrl = None,
) -> None:
    """Import predictions; re-importing a file stores nothing twice."""
    from monitors.collectors.files import ingest_file

    if on_new_columns not in ("add", "quarantine", "error"):
        raise _fail(f"--on-new-columns: expected add, quarantine or error; got {on_new_columns!r}")
    progress, total = _progress(file)
    with _errors(), progress:
        task = progress.add_task(f"ingest {file.name}", total=total)
        result = ingest_file(
            database_url,
            name,
            file,
            strict=strict,
            chunk_rows=chunk_rows,
            on_new_columns=on_new_columns,  # type: ignore[arg-type]
            on_chunk=lambda n: progress.advance(task, n),
        )
    for problem in result.problems[:10]:
        typer.echo(f"quarantined: {problem}", err=True)
    typer.echo(result.summary())


@app.command("labels")
def labels(
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of labels.")],
    id: Annotated[str | None, typer.Option("--id", help="Id column (default: schema's).")] = None,
    label: Annotated[str | None, typer.Option(help="Label column (default: schema's).")] = None,
    strict: Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Backfill labels by prediction id; unknown ids are listed."""
    from monitors.collectors.files import ingest_label_file

    with _errors():
        result = ingest_label_file(
            database_url, name, file, id_column=id, label_column=label, strict=strict
        )
    if result.unknown_ids:
        shown = ", ".join(result.unknown_ids[:20])
        more = len(result.unknown_ids) - 20
        typer.echo(
            f"unknown prediction_id: {shown}" + (f" (and {more} more)" if more > 0 else ""),
            err=True,
        )
    typer.echo(result.summary())


@app.command("purge")
def purge_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    before: Annotated[str, typer.Option(help="Delete logged rows older than this ISO time.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Delete logged rows (with their sensitive attributes) older than a date; metrics stay."""
    from monitors.collectors.client import purge

    when = _parse_time(before, "--before")
    assert when is not None
    with _errors():
        n = purge(database_url, name, when)
    typer.echo(f"{name}: purged {n} row(s) logged before {when.isoformat()}")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply pending database migrations."""
    from storage.engine import get_engine, redact, upgrade

    with _errors():
        engine = get_engine(database_url, migrate=False)
        revision = upgrade(engine)
    typer.echo(f"{redact(str(engine.url))}: at revision {revision}")


# -- analysis -------------------------------------------------------------------
def _seconds(every: str) -> float:
    from storage.registry import WINDOW_RE, validate_window

    validate_window(every)
    match = WINDOW_RE.match(every)
    assert match is not None
    n, unit = int(match.group(1)), match.group(2)
    return n * {"m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2592000}[unit]


@app.command("run")
def run(
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    every: Annotated[
        str | None, typer.Option(help="Repeat every interval (15m, 1h) until interrupted.")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="Analyse as if it were this time (ISO).", hidden=True)
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Analyse every closed window not analysed yet, evaluate alert rules, deliver notifications."""
    from monitors.pipeline.run import run_pass

    with _errors():
        interval = _seconds(every) if every else None
    stop = {"flag": False}

    def _stop(*_: object) -> None:
        stop["flag"] = True

    if interval:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        with _errors():
            summary = run_pass(url=database_url, model=model, now=_parse_time(now, "--now"))
        for line in summary.lines():
            typer.echo(line)
        if summary.alerts is not None:
            typer.echo(str(summary.alerts))
        if summary.delivery is not None:
            typer.echo(str(summary.delivery))
        if not interval:
            return
        try:
            deadline = time.monotonic() + interval
            while not stop["flag"] and time.monotonic() < deadline:
                time.sleep(min(1.0, deadline - time.monotonic()))
        except KeyboardInterrupt:
            stop["flag"] = True
        if stop["flag"]:
            typer.echo("stopped")
            return


@app.command("metrics")
def metrics(
    name: Annotated[str, typer.Argument(help="Model name.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Windows starting at or after (ISO).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Windows ending at or before (ISO).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export stored results: one record per model, window, analyzer, metric, feature, group."""
    from monitors.export import export_metrics

    if fmt not in ("json", "csv"):
        raise _fail(f"--format: expected json or csv; got {fmt!r}")
    with _errors():
        text = export_metrics(
            database_url,
            name,
            start=_parse_time(from_, "--from"),
            end=_parse_time(to, "--to"),
            fmt=fmt,
        )
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


# -- dashboard and demo -----------------------------------------------------------
@app.command("dashboard")
def dashboard(
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
    address: Annotated[
        str, typer.Option(help="Bind address (localhost unless OIDC login is configured).")
    ] = "127.0.0.1",
    database_url: DatabaseUrl = None,
) -> None:
    """Start the Streamlit dashboard."""
    entry = Path(__file__).resolve().parent.parent / "app" / "main.py"
    env = dict(os.environ)
    if database_url:
        env["DRIFTWARDEN_DATABASE_URL"] = database_url
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    typer.echo(f"dashboard on http://{'localhost' if address == '127.0.0.1' else address}:{port}")
    raise typer.Exit(subprocess.call(command, env=env))


@app.command("demo")
def demo(
    rows_per_day: Annotated[int, typer.Option(help="Predictions per daily window.")] = 1000,
    analyse: Annotated[bool, typer.Option("--run/--no-run", help="Run the analysis pass.")] = True,
    rules: Annotated[bool, typer.Option(help="Apply the demo alert rules.")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Build the lending demo (model `credit`, 60 daily windows) and analyse it."""
    from monitors.demo.lending import load_demo

    with _errors():
        scenario = load_demo(database_url, rows_per_day=rows_per_day)
        typer.echo(
            f"demo: model credit, {len(scenario.production)} predictions "
            f"{scenario.start.date()} – {scenario.end.date()}, {len(scenario.labels)} labels"
        )
        if rules:
            from monitors.demo.lending import apply_demo_rules

            apply_demo_rules(database_url)
        if analyse:
            from monitors.pipeline.run import run_pass

            summary = run_pass(url=database_url, now=scenario.end)
            for line in summary.lines():
                typer.echo(line)


def _mount_subcommands() -> None:
    """Sub-commands that live in their own modules."""
    from monitors.cli_alerts import alerts_app
    from monitors.cli_report import report_command

    app.add_typer(alerts_app, name="alerts")
    app.command("report")(report_command)


_mount_subcommands()


def main() -> None:  # pragma: no cover - console script
    app()


__all__ = ["app", "main"]

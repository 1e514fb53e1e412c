"""``driftwarden models …``: register a model from reference data, list models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from monitors.cli.common import DatabaseUrl, choice, csv_list, database, errors

models_app = typer.Typer(help="Register and list models.", no_args_is_help=True)

#: ``storage.schema.Task`` values (not imported here: ``storage.schema`` needs pandas).
TASKS = ("binary_classification", "multiclass_classification", "regression")


@models_app.command("register")
def models_register(
    name: Annotated[str, typer.Argument(help="Model name (letters, digits, _ . -).")],
    reference: Annotated[Path, typer.Option(help="Reference data (CSV or Parquet).")],
    task: Annotated[str, typer.Option(help=f"One of {', '.join(TASKS)}.")],
    id: Annotated[str, typer.Option("--id", help="Column with the prediction id.")],
    timestamp: Annotated[str, typer.Option(help="Column with the prediction time.")],
    prediction: Annotated[str, typer.Option(help="Column with the prediction.")],
    score: Annotated[str | None, typer.Option(help="Probability of the positive class.")] = None,
    label: Annotated[str | None, typer.Option(help="Column with the true label.")] = None,
    sensitive: Annotated[str | None, typer.Option(help="Sensitive attributes, A,B.")] = None,
    categorical: Annotated[
        str | None,
        typer.Option(
            help="Feature columns to treat as categories, A,B: any type (numeric codes such "
            "as zip or grade; string and bool columns are categorical anyway)."
        ),
    ] = None,
    latency_ms: Annotated[
        str | None, typer.Option(help="Column with serving latency (ms).")
    ] = None,
    window: Annotated[str, typer.Option(help="Window size: 1h, 1d, 7d, 1mo …")] = "1d",
    retention_days: Annotated[int | None, typer.Option(help="Purge rows older than this.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="A prediction log that stays in the data lake, summarised by Spark: "
            "parquet:PATH or spark:TABLE (docs/scale.md)."
        ),
    ] = None,
    executor: Annotated[
        str, typer.Option(help="Where window summaries are computed: memory, postgres, spark.")
    ] = "memory",
    database_url: DatabaseUrl = None,
) -> None:
    """Register a model; its schema is inferred from the reference data with the roles named."""
    choice(task, "--task", TASKS)
    url = database(database_url, create=True)
    from monitors.collectors import Client
    from monitors.collectors.files import read_reference

    with errors():
        from monitors.summaries.executor import check_executor, set_executor

        executor = check_executor(url, executor, source)
        frame = read_reference(reference, timestamp)
        info = Client(url).register_model(
            name,
            task=task,
            reference=frame,
            id=id,
            timestamp=timestamp,
            prediction=prediction,
            score=score,
            label=label,
            sensitive=csv_list(sensitive),
            categorical=csv_list(categorical),
            latency_ms=latency_ms,
            window=window,
            retention_days=retention_days,
        )
        if executor != "memory":
            set_executor(url, name, executor=executor, source=source)
    features = ", ".join(c.name for c in info.schema.features)
    typer.echo(f"registered {info.name} ({info.task}, window {info.window}); features: {features}")


def _overview(url: str) -> list[dict[str, Any]]:
    """Name, task, window, schema and reference version of every model, by name.

    Read with SQLAlchemy and :mod:`storage.models` only (no pandas): ``models list`` is
    a light command.
    """
    from sqlalchemy import func, select

    from storage.engine import get_engine, read_engine, session_scope
    from storage.models import Model, ReferenceDataset

    versions = (
        select(ReferenceDataset.model_id, func.max(ReferenceDataset.version).label("version"))
        .group_by(ReferenceDataset.model_id)
        .subquery()
    )
    query = (
        select(Model.name, Model.task, Model.window, Model.schema_json, versions.c.version)
        .outerjoin(versions, versions.c.model_id == Model.id)
        .order_by(Model.name)
    )
    with session_scope(read_engine(get_engine(url))) as session:
        return [
            {"name": n, "task": t, "window": w, "schema": s, "reference_version": v}
            for n, t, w, s, v in session.execute(query)
        ]


@models_app.command("list")
def models_list(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List registered models."""
    url = database(database_url)
    with errors():
        models = _overview(url)
    if as_json:
        from storage.schema import ModelSchema

        keys = ("name", "task", "window", "reference_version")
        records = [
            {
                **{k: m[k] for k in keys},
                "schema": ModelSchema.model_validate(m["schema"]).model_dump(mode="json"),
            }
            for m in models
        ]
        typer.echo(json.dumps(records, indent=2))
        return
    if not models:
        typer.echo("no models registered yet: driftwarden models register NAME --reference FILE …")
    for m in models:
        features = sum(1 for c in m["schema"].get("columns", []) if c.get("role") == "feature")
        version = "-" if m["reference_version"] is None else f"v{m['reference_version']}"
        typer.echo(
            f"{m['name']}\t{m['task']}\twindow={m['window']}\tfeatures={features}"
            f"\treference={version}"
        )

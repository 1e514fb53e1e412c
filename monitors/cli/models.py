"""``driftwarden models …``: register a model from reference data, list models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, csv_list, errors

models_app = typer.Typer(help="Register and list models.", no_args_is_help=True)


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
    from monitors.collectors.files import read_reference

    with errors():
        frame = read_reference(reference, timestamp)
        info = Client(database_url).register_model(
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
    features = ", ".join(c.name for c in info.schema.features)
    typer.echo(f"registered {info.name} ({info.task}, window {info.window}); features: {features}")


@models_app.command("list")
def models_list(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List registered models."""
    from monitors.collectors import Client

    with errors():
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

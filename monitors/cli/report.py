"""``driftwarden report``: export a fairness audit report, or verify an exported file.

One command function, :func:`report_command`, because Typer cannot have a positional
``NAME`` and a ``verify`` subcommand in one group: ``driftwarden report NAME --from …
--to …`` exports, ``driftwarden report verify FILE`` verifies (exit 0 verified,
1 altered, 2 unknown). Register it with ``app.command("report")(report_command)``.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from monitors.errors import ConfigError, MonitorError, ReportError, StorageError
from monitors.reports.signing import VERIFY_KEY_ENV

if TYPE_CHECKING:
    from monitors.analyzers.fairness import FairnessConfig
    from monitors.reports.render import Format
    from monitors.reports.verify import Verification

__all__ = ["apply_thresholds", "report_command", "run_export", "run_verify"]

#: ``--threshold`` keys besides the disparity thresholds.
EXTRA_THRESHOLD_KEYS = ("four_fifths", "min_group_size")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        help="Database URL (export: default sqlite:///driftwarden.db; verify: the "
        "database is only consulted when a URL is given).",
        envvar="DRIFTWARDEN_DATABASE_URL",
    ),
]
Thresholds = Annotated[
    list[str] | None,
    typer.Option(
        help="KEY=VALUE, repeatable: a disparity threshold "
        "(e.g. demographic_parity_difference=0.1), four_fifths or min_group_size."
    ),
]
PublicKey = Annotated[
    Path | None,
    typer.Option(help=f"verify: Ed25519 public key file (PEM or base64); else ${VERIFY_KEY_ENV}."),
]


def _default_user() -> str:
    """``$USER``, else the OS login name, else ``unknown``."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def apply_thresholds(
    config: FairnessConfig,
    thresholds: list[str],
    *,
    n_bootstrap: int | None = None,
    seed: int | None = None,
) -> FairnessConfig:
    """``config`` with ``KEY=VALUE`` thresholds and bootstrap settings applied.

    Keys are the fields of :class:`DisparityThresholds`, ``four_fifths`` and
    ``min_group_size``.

    Raises
    ------
    ConfigError
        If an item is not ``KEY=VALUE``, the key is unknown, or the value is invalid.
    """
    from pydantic import ValidationError

    from monitors.analyzers.fairness import DisparityThresholds, FairnessConfig

    disparity_keys = list(DisparityThresholds.model_fields)
    new_thresholds = config.thresholds.model_dump()
    top: dict[str, Any] = {}
    for item in thresholds:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not raw.strip():
            raise ConfigError(f"--threshold: expected KEY=VALUE; got {item!r}")
        if key not in disparity_keys and key not in EXTRA_THRESHOLD_KEYS:
            raise ConfigError(
                f"--threshold {key}: expected one of "
                f"{', '.join([*disparity_keys, *EXTRA_THRESHOLD_KEYS])}; got {key!r}"
            )
        try:
            value = int(raw) if key == "min_group_size" else float(raw)
        except ValueError as exc:
            raise ConfigError(f"--threshold {key}: expected a number; got {raw!r}") from exc
        if key in disparity_keys:
            new_thresholds[key] = value
        else:
            top[key] = value
    if n_bootstrap is not None:
        top["n_bootstrap"] = n_bootstrap
    if seed is not None:
        top["seed"] = seed
    data = {**config.model_dump(), **top, "thresholds": new_thresholds}
    try:
        return FairnessConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"--threshold {where}: {err['msg']}; got {err.get('input')!r}") from exc


def _formats(text: str) -> list[Format]:
    """``--format`` as a list of known formats."""
    from monitors.reports.render import FORMATS

    items = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in items if f not in FORMATS]
    if bad or not items:
        raise ConfigError(f"--format: expected a list of {', '.join(FORMATS)}; got {text!r}")
    return [cast("Format", f) for f in items]


def run_export(
    name: str,
    *,
    start: str,
    end: str,
    sensitive: str | None,
    formats: str,
    out: Path,
    database_url: str | None,
    created_by: str,
    thresholds: list[str],
    n_bootstrap: int | None,
    seed: int | None,
) -> list[Path]:
    """Export the report of ``name`` (the CLI's work, without Typer); returns the paths."""
    from monitors.reports.export import export_report, model_fairness_config, parse_time
    from monitors.reports.signing import Signer
    from storage.engine import get_engine, session_scope
    from storage.registry import get_model

    t0 = parse_time(start, option="--from")
    t1 = parse_time(end, option="--to")
    fmt = _formats(formats)
    attrs = [s.strip() for s in sensitive.split(",") if s.strip()] if sensitive else None
    with session_scope(get_engine(database_url)) as session:
        base = model_fairness_config(get_model(session, name))
    config = apply_thresholds(base, thresholds, n_bootstrap=n_bootstrap, seed=seed)
    result = export_report(
        database_url,
        name,
        start=t0,
        end=t1,
        out_dir=out,
        formats=fmt,
        sensitive=attrs,
        config=config,
        created_by=created_by,
        signer=Signer.from_env(),
    )
    return list(result.files)


def run_verify(
    file: Path, *, database_url: str | None, public_key_file: Path | None
) -> Verification:
    """Verify one exported file (the CLI's work, without Typer)."""
    from monitors.reports.signing import load_public_key
    from monitors.reports.verify import verify_file

    if not file.is_file():
        raise ReportError(f"report verify: expected an exported report file; got {str(file)!r}")
    key_text: str | None = None
    if public_key_file is not None:
        key_text = public_key_file.read_text(encoding="ascii")
        what = f"--public-key {public_key_file}"
    elif os.environ.get(VERIFY_KEY_ENV, "").strip():
        key_text = os.environ[VERIFY_KEY_ENV]
        what = VERIFY_KEY_ENV
    key = load_public_key(key_text, what=what) if key_text is not None else None
    return verify_file(file, database_url=database_url, public_key=key)


def _verify_and_echo(
    file: Path | None, *, database_url: str | None, public_key: Path | None
) -> int:
    """Verify ``file``, print the status (reasons on stderr); the exit code."""
    if file is None:
        raise ConfigError("report verify: expected a FILE argument; got none")
    result = run_verify(file, database_url=database_url, public_key_file=public_key)
    typer.echo(result.status)
    for reason in result.reasons:
        typer.echo(f"  {reason}", err=True)
    return result.exit_code


def _failure(exc: Exception, *, database_url: str | None, code: int) -> typer.Exit:
    """Print ``error: …`` (the database URL redacted) on stderr; the exit to raise."""
    from storage.engine import redact

    message = str(exc)
    if database_url:
        message = message.replace(database_url, redact(database_url))
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def report_command(
    name: Annotated[
        str, typer.Argument(help="Model name, or the word 'verify' to verify a report file.")
    ],
    file: Annotated[
        Path | None, typer.Argument(help="With 'verify': the exported report file.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start of the period (ISO 8601, included).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End of the period (ISO 8601, excluded).")
    ] = None,
    sensitive: Annotated[
        str | None,
        typer.Option(help="Comma-separated sensitive attributes (default: all of the model's)."),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="Comma-separated formats: html,pdf,json,csv.")
    ] = "html,pdf,json,csv",
    out: Annotated[Path, typer.Option(help="Directory the files are written to.")] = Path("."),
    database_url: DatabaseUrl = None,
    created_by: Annotated[
        str | None, typer.Option(help="Who exports the report (default $USER).")
    ] = None,
    threshold: Thresholds = None,
    n_bootstrap: Annotated[
        int | None, typer.Option(help="Bootstrap resamples (default: the model's, 1000).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Bootstrap seed (default: the model's, 0).")
    ] = None,
    public_key: PublicKey = None,
) -> None:
    """Export a fairness audit report of NAME, or `verify FILE` (exit 0/1/2)."""
    try:
        if name == "verify":
            code = _verify_and_echo(file, database_url=database_url, public_key=public_key)
            raise typer.Exit(code)
        if file is not None:
            raise ConfigError(f"report {name}: unexpected extra argument {str(file)!r}")
        if start is None or end is None:
            raise ConfigError("report: --from and --to are required (ISO 8601 times)")
        paths = run_export(
            name,
            start=start,
            end=end,
            sensitive=sensitive,
            formats=format,
            out=out,
            database_url=database_url,
            created_by=created_by or _default_user(),
            thresholds=threshold or [],
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
    except (MonitorError, StorageError) as exc:
        code = 2 if name == "verify" else 1
        raise _failure(exc, database_url=database_url, code=code) from exc
    for path in paths:
        typer.echo(str(path))

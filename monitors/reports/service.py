"""What ``driftwarden report`` does, without Typer: export from options, verify and explain.

The CLI (:mod:`monitors.cli.report`) parses options and prints; this module turns option
values into calls of :func:`~monitors.reports.export.export_report` and
:func:`~monitors.reports.verify.verify_bytes`, and says in words which checks ran on a
verified file and what each found. Heavy modules (pandas, the analyzers, WeasyPrint) are
imported by the export path only, so that ``report verify`` starts fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from monitors.errors import ConfigError, ReportError
from monitors.timeparse import parse_time

if TYPE_CHECKING:
    from monitors.analyzers.fairness import FairnessConfig
    from monitors.reports.render import Format
    from monitors.reports.verify import Verification

__all__ = [
    "EXTRA_THRESHOLD_KEYS",
    "VerifyOutcome",
    "apply_thresholds",
    "explain",
    "parse_formats",
    "run_export",
    "run_verify",
]

#: ``--threshold`` keys besides the disparity thresholds.
EXTRA_THRESHOLD_KEYS: Final = ("four_fifths", "min_group_size")
#: Report formats, in the order ``--format`` lists them (as ``monitors.reports.render.FORMATS``).
FORMAT_NAMES: Final = ("html", "pdf", "json", "csv")


def apply_thresholds(
    config: FairnessConfig,
    thresholds: Sequence[str],
    *,
    n_bootstrap: int | None = None,
    seed: int | None = None,
) -> FairnessConfig:
    """``config`` with ``KEY=VALUE`` thresholds and bootstrap settings applied.

    Keys are the fields of :class:`~monitors.analyzers.fairness.DisparityThresholds`,
    ``four_fifths`` and ``min_group_size``.

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


def parse_formats(text: str) -> list[Format]:
    """``--format html,pdf`` as a list of known formats.

    Raises
    ------
    ConfigError
        If the list is empty or names an unknown format.
    """
    items = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in items if f not in FORMAT_NAMES]
    if bad or not items:
        raise ConfigError(f"--format: expected a list of {', '.join(FORMAT_NAMES)}; got {text!r}")
    return [cast("Format", f) for f in items]


def run_export(
    name: str,
    *,
    start: str,
    end: str,
    sensitive: Sequence[str] | None,
    formats: str,
    out: Path,
    database_url: str | None,
    created_by: str,
    thresholds: Sequence[str],
    n_bootstrap: int | None,
    seed: int | None,
) -> list[Path]:
    """Export the report of ``name`` from the CLI's option values; the paths written.

    Raises
    ------
    ConfigError
        For a bad date, format or threshold (one line naming the option).
    UnknownModelError
        If no model has that name.
    """
    from monitors.reports.export import export_report, model_fairness_config
    from monitors.reports.signing import Signer
    from storage.engine import get_engine, session_scope
    from storage.registry import get_model

    t0 = parse_time(start, option="--from")
    t1 = parse_time(end, option="--to")
    fmt = parse_formats(formats)
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
        sensitive=list(sensitive) if sensitive else None,
        config=config,
        created_by=created_by,
        signer=Signer.from_env(),
    )
    return list(result.files)


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """A verification and its explanation: one line per check that ran or was skipped."""

    verification: Verification
    lines: tuple[str, ...]

    @property
    def status(self) -> str:
        """``verified``, ``altered`` or ``unknown``."""
        return self.verification.status

    @property
    def exit_code(self) -> int:
        """0 verified, 1 altered, 2 unknown."""
        return self.verification.exit_code


def run_verify(
    file: Path,
    *,
    database_url: str | None,
    public_key_file: Path | None,
    database_note: str | None = None,
) -> VerifyOutcome:
    """Verify one exported file and explain the verdict.

    Parameters
    ----------
    file : Path
        The exported report (JSON, HTML, PDF or CSV).
    database_url : str or None
        The database whose ``report_export`` records are consulted; ``None`` skips that check.
    public_key_file : Path or None
        ``--public-key``; else ``$DRIFTWARDEN_VERIFY_KEY`` (see
        :func:`~monitors.reports.verify.trusted_key`).
    database_note : str, optional
        Why no database is consulted, for the explanation.

    Raises
    ------
    ReportError
        If the file cannot be read, or the key file or variable is missing or malformed.
    """
    from monitors.reports.signing import VERIFY_KEY_ENV
    from monitors.reports.verify import trusted_key, verify_bytes

    key = trusted_key(public_key_file)
    try:
        data = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ReportError(
            f"report verify: cannot read {str(file)!r} ({reason}); expected an exported report file"
        ) from exc
    result = verify_bytes(data, name=file.name, database_url=database_url, public_key=key)
    key_source = None
    if key is not None:
        key_source = f"--public-key {public_key_file}" if public_key_file else f"${VERIFY_KEY_ENV}"
    lines = explain(
        result,
        data=data,
        database=database_url,
        database_note=database_note,
        key_source=key_source,
    )
    return VerifyOutcome(result, tuple(lines))


_DATABASE_PREFIXES: Final = ("recorded export", "the content hash is not in the report_export")
_SIGNATURE_PREFIXES: Final = (
    "valid content signature",
    "the content signature",
    "file signature",
    "signed content",
    "no signature",
    "signature key not trusted",
    "signature not checked",
)


def _recomputed(data: bytes) -> str | None:
    """The content hash a JSON export's content recomputes to (``None`` if unreadable)."""
    from monitors.reports.canonical import content_sha256

    try:
        doc = json.loads(data.decode("utf-8"))
        return content_sha256(doc) if isinstance(doc, dict) else None
    except (UnicodeDecodeError, ValueError, RecursionError, ReportError, TypeError):
        return None


def _content_line(result: Verification, data: bytes) -> str:
    """What the content-hash check found."""
    sha = result.content_sha256
    if result.format is None:
        return "content hash: not checked (not a driftwarden report file)"
    if sha is None:
        return f"content hash: none embedded in this {result.format.upper()} file"
    short = f"{sha[:12]}…"
    if result.format == "json":
        same = _recomputed(data) == sha
        return f"content hash: {short} embedded; the content " + (
            "hashes to it" if same else "does NOT hash to it"
        )
    return (
        f"content hash: {short} embedded; the {result.format.upper()} bytes are checked "
        "against the database record and the file signature"
    )


def explain(
    result: Verification,
    *,
    data: bytes,
    database: str | None,
    database_note: str | None = None,
    key_source: str | None = None,
) -> list[str]:
    """One line per check (content hash, database record, signature) and the verdict.

    Parameters
    ----------
    result : Verification
        What :func:`~monitors.reports.verify.verify_bytes` found.
    data : bytes
        The file's bytes (a JSON export's content hash is recomputed for the first line).
    database : str or None
        The URL that was consulted (shown without its password), if any.
    database_note : str, optional
        Why no database was consulted.
    key_source : str, optional
        Where the trusted public key came from (``--public-key FILE`` or the variable).

    Returns
    -------
    list of str
        ``content hash: …``, ``database record: …``, ``signature: …``, any other finding,
        and ``verdict: …``.
    """
    from storage.engine import redact

    by_check: dict[str, list[str]] = {"database": [], "signature": [], "other": []}
    for reason in result.reasons:
        if reason.startswith(_DATABASE_PREFIXES):
            by_check["database"].append(reason)
        elif reason.startswith(_SIGNATURE_PREFIXES):
            by_check["signature"].append(reason)
        elif not reason.startswith("nothing to check against"):
            by_check["other"].append(reason)
    skipped = _skipped(result, by_check)
    lines = [_content_line(result, data)]
    where = f" in {redact(database)}" if database else ""
    if by_check["database"]:
        lines += [f"database record{where}: {r}" for r in by_check["database"]]
    elif database and skipped:
        lines.append(f"database record{where}: not checked ({skipped})")
    else:
        lines.append(f"database record: not checked ({database_note or 'no database given'})")
    key = f" (key from {key_source})" if key_source else ""
    if by_check["signature"]:
        lines += [f"signature{key}: {r}" for r in by_check["signature"]]
    else:
        lines.append(
            "signature: not checked ("
            + (skipped or "the file is not signed and no public key was given")
            + ")"
        )
    lines += [f"finding: {r}" for r in by_check["other"]]
    lines.append(f"verdict: {result.status} ({_why(result.status)})")
    return lines


def _skipped(result: Verification, by_check: dict[str, list[str]]) -> str | None:
    """Why the database and signature checks did not run at all (``None``: they could)."""
    if result.format is None:
        return "not a driftwarden report file"
    if result.content_sha256 is None:
        return "no content hash in the file"
    if result.status == "altered" and not by_check["database"] and not by_check["signature"]:
        return "the file is inconsistent in itself, see the finding"
    return None


def _why(status: str) -> str:
    """The rule behind a verdict, in words."""
    if status == "verified":
        return "a check vouched for the file and none found a mismatch"
    if status == "altered":
        return "a check found a mismatch: the file is not what was exported"
    return "no check could vouch for the file, and none found a mismatch"

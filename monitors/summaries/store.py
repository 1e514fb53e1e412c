"""Keeping window summaries: compact bytes in the store, read back for reports and re-analysis.

A summary is stored as gzip-compressed strict JSON (``WindowSummary.to_json``) with its
window, reference version and spec hash; the spec it was counted on is stored once per
model and hash. After ``purge`` has deleted a window's rows, its stored summary still
gives every summary-based metric (:func:`period_summary` merges the windows of a period).

Reports need only a summary's counts (fairness and confusion cells, row and label
counts): :func:`stored_counts` decodes those and skips the bins and the uniform sample
(most of a stored summary), and :func:`merge_counts` adds them up, across reference
versions too (cells hold raw values, not reference bins).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from sqlalchemy.orm import Session

from monitors.errors import ConfigError
from monitors.summaries.merge import merge_all, merge_cells, merge_regression
from monitors.summaries.types import (
    FORMAT_VERSION,
    Cells,
    RegressionErrors,
    Sample,
    SummarySpec,
    WindowSummary,
    from_json,
    to_json,
)
from storage import summaries as stored
from storage.engine import get_engine, session_scope
from storage.models import Model
from storage.registry import get_model


def encode(data: Any) -> bytes:
    """Strict JSON, gzip-compressed."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return gzip.compress(text.encode(), compresslevel=6)


def decode(data: bytes) -> Any:
    """The JSON data of :func:`encode`."""
    return json.loads(gzip.decompress(data))


def save_summary(
    session: Any,
    model: Model,
    summary: WindowSummary,
    spec: SummarySpec,
    *,
    window_start: datetime,
    window_end: datetime,
) -> int:
    """Store one window's summary (and its spec once); the size stored, in bytes."""
    stored.store_spec(
        session,
        model,
        sha256=spec.sha256,
        reference_version=spec.reference_version,
        data=encode(to_json(spec)),
    )
    data = encode(summary.to_json())
    stored.store_summary(
        session,
        model,
        window_start=window_start,
        window_end=window_end,
        reference_version=summary.reference_version,
        spec_sha256=summary.spec_sha256,
        format_version=summary.format_version,
        executor=summary.executor,
        n_rows=summary.n_rows,
        data=data,
    )
    return len(data)


def stored_spec(session: Any, model: Model, sha256: str) -> SummarySpec | None:
    """The stored spec of ``model`` with hash ``sha256``, or ``None``."""
    raw = stored.load_spec(session, model, sha256)
    return None if raw is None else from_json(SummarySpec, decode(raw))


def stored_summaries(
    url: str | None, name: str, *, start: datetime | None = None, end: datetime | None = None
) -> list[tuple[datetime, datetime, WindowSummary, SummarySpec]]:
    """Every stored window summary of model ``name`` in ``[start, end)`` with its spec."""
    with session_scope(get_engine(url)) as session:
        model = get_model(session, name)
        rows = stored.window_summaries(session, model, start=start, end=end)
        specs: dict[str, SummarySpec] = {}
        out = []
        for row in rows:
            if row.spec_sha256 not in specs:
                raw = stored.load_spec(session, model, row.spec_sha256)
                if raw is None:
                    raise ConfigError(
                        f"model {name!r}: the spec {row.spec_sha256[:12]} of the summary of "
                        f"window {row.window_start.isoformat()} is not stored"
                    )
                specs[row.spec_sha256] = from_json(SummarySpec, decode(raw))
            summary = WindowSummary.from_json(decode(row.data))
            out.append((row.window_start, row.window_end, summary, specs[row.spec_sha256]))
    return out


def period_summary(
    url: str | None, name: str, *, start: datetime, end: datetime
) -> tuple[WindowSummary, SummarySpec]:
    """The stored summaries of ``[start, end)`` merged into one, with their spec.

    Raises
    ------
    ConfigError
        If the period has no stored summary, or summaries on different specs (a new
        reference version in the period: analyse its parts separately).
    """
    found = stored_summaries(url, name, start=start, end=end)
    if not found:
        raise ConfigError(
            f"model {name!r}: no stored window summaries in [{start.isoformat()}, "
            f"{end.isoformat()})"
        )
    hashes = {s.spec_sha256 for _, _, s, _ in found}
    if len(hashes) > 1:
        raise ConfigError(
            f"model {name!r}: the period's windows were summarised on {len(hashes)} specs "
            "(reference versions); expected one"
        )
    return merge_all([s for _, _, s, _ in found]), found[0][3]


def decode_counts(data: bytes) -> dict[str, Any]:
    """The JSON data of a stored summary, without its column bins, categories and sample.

    :meth:`WindowSummary.to_json` writes the top-level keys in field order, and a key's
    text (``,"numeric":``) cannot occur inside a JSON string (its quotes would be
    escaped), so the text from ``,"numeric":`` to ``,"fairness":`` (bins and categories)
    and from ``,"sample":`` on (the uniform sample, most of the bytes) is cut out before
    parsing. Data of another layout is parsed whole.
    """
    text = gzip.decompress(data)
    try:
        numeric = text.index(b',"numeric":')
        fairness = text.index(b',"fairness":', numeric)
        sample = text.index(b',"sample":', fairness)
    except ValueError:
        return json.loads(text)
    return json.loads(text[:numeric] + text[fairness:sample] + b"}")


def _counts_only(data: dict[str, Any]) -> WindowSummary:
    """The counts of a summary's JSON data; bins, categories, histograms and sample empty."""
    if data.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"window summary format_version: expected {FORMAT_VERSION}; "
            f"got {data.get('format_version')!r}"
        )
    regression = data.get("regression")
    return WindowSummary(
        format_version=FORMAT_VERSION,
        spec_sha256=data["spec_sha256"],
        reference_version=data["reference_version"],
        executor=data["executor"],
        top_k=data["top_k"],
        n_rows=data["n_rows"],
        n_labelled=data["n_labelled"],
        numeric=(),
        categorical=(),
        fairness=from_json(Cells, data["fairness"], "fairness"),
        n_missing_prediction=data["n_missing_prediction"],
        confusion=from_json(Cells, data["confusion"], "confusion"),
        regression=None if regression is None else from_json(RegressionErrors, regression),
        scores=(),
        latency=None,
        sample=Sample((), (), (), n_seen=data["n_rows"], capacity=0),
    )


def stored_counts(
    session: Session, model: Model, *, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, WindowSummary]]:
    """The counts of every stored window summary of ``model`` within ``[start, end)``.

    Each :class:`WindowSummary` holds the row, label and missing-prediction counts, the
    fairness and confusion cells and the regression sums; its numeric and categorical
    columns, score histograms, latency and sample are empty (not decoded: the sample's
    ``capacity`` is ``0``), which makes reading a month of 1,000,000-row windows take
    about a second (:func:`decode_counts`).
    """
    rows = stored.window_summaries(session, model, start=start, end=end)
    return [(r.window_start, r.window_end, _counts_only(decode_counts(r.data))) for r in rows]


def merge_counts(summaries: Sequence[WindowSummary]) -> WindowSummary:
    """The counts of :func:`stored_counts` summaries added up (windows of several specs too).

    The result carries the specs' hash if they share one, else ``""``; its reference
    version is the last summary's.

    Raises
    ------
    ConfigError
        If ``summaries`` is empty.
    """
    if not summaries:
        raise ConfigError("merge_counts: expected at least one window summary; got none")
    hashes = {s.spec_sha256 for s in summaries}
    last = summaries[-1]
    return WindowSummary(
        format_version=FORMAT_VERSION,
        spec_sha256=hashes.pop() if len(hashes) == 1 else "",
        reference_version=last.reference_version,
        executor="merged" if len(summaries) > 1 else last.executor,
        top_k=last.top_k,
        n_rows=sum(s.n_rows for s in summaries),
        n_labelled=sum(s.n_labelled for s in summaries),
        numeric=(),
        categorical=(),
        fairness=reduce(merge_cells, (s.fairness for s in summaries)),
        n_missing_prediction=sum(s.n_missing_prediction for s in summaries),
        confusion=reduce(merge_cells, (s.confusion for s in summaries)),
        regression=reduce(merge_regression, (s.regression for s in summaries)),
        scores=(),
        latency=None,
        sample=Sample((), (), (), n_seen=sum(s.n_rows for s in summaries), capacity=0),
    )


def strip_samples(url: str | None, name: str, *, before_us: int) -> int:
    """Remove from the stored summaries of model ``name`` the sample rows timed before
    ``before_us`` (epoch µs): the per-row part of a summary goes with the rows on ``purge``.

    A summary's counts, bins and cells are aggregates and stay (reports and re-analysis
    read them after ``purge``); its uniform sample is rows — ids, features, sensitive
    attributes — so it is cut like the log. A window whose sample lost rows is no longer
    "complete": re-analysis reads its summary, and the checks that need rows (domain
    classifier, SHAP, anomalies) see what is left. Returns how many summaries changed.
    """
    changed = 0
    with session_scope(get_engine(url)) as session:
        model = get_model(session, name)
        specs: dict[str, SummarySpec | None] = {}
        for row in stored.window_summaries(session, model):
            if _micros(row.window_start) >= before_us:
                continue
            if row.spec_sha256 not in specs:
                specs[row.spec_sha256] = stored_spec(session, model, row.spec_sha256)
            spec = specs[row.spec_sha256]
            data = decode(row.data)
            sample = data["sample"]
            if spec is None or spec.timestamp not in spec.sample_columns:
                keep: list[int] = []  # cannot tell the rows' times: drop them all
            else:
                times = sample["values"][spec.sample_columns.index(spec.timestamp)]
                keep = [i for i, t in enumerate(times) if t is not None and t >= before_us]
            if len(keep) == len(sample["keys"]):
                continue
            sample["keys"] = [sample["keys"][i] for i in keep]
            sample["ids"] = [sample["ids"][i] for i in keep]
            sample["values"] = [[column[i] for i in keep] for column in sample["values"]]
            row.data = encode(data)
            changed += 1
    return changed


def _micros(value: datetime) -> int:
    """Epoch microseconds of an aware (or UTC-naive) datetime."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

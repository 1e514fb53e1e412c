"""Keeping window summaries: compact bytes in the store, read back for reports and re-analysis.

A summary is stored as gzip-compressed strict JSON (``WindowSummary.to_json``) with its
window, reference version and spec hash; the spec it was counted on is stored once per
model and hash. After ``purge`` has deleted a window's rows, its stored summary still
gives every summary-based metric (:func:`period_summary` merges the windows of a period).
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

from monitors.errors import ConfigError
from monitors.summaries.merge import merge_all
from monitors.summaries.types import SummarySpec, WindowSummary, from_json, to_json
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

"""``driftwarden metrics``: stored results as JSON or CSV records.

Each record has ``model, window_start, window_end, analyzer, metric, feature, group,
value, threshold, status, details``. Times are ISO 8601 UTC; ``feature``/``group``
are null where they do not apply; ``details`` is a JSON object (a JSON string in CSV).
In CSV, text cells a spreadsheet would run as a formula (a feature named
``=HYPERLINK(…)``) get a leading ``'`` (:mod:`monitors.spreadsheet`); JSON is unchanged.
"""

from __future__ import annotations

import io
import json
import math
from datetime import datetime
from typing import Any

import pandas as pd

from monitors.spreadsheet import neutralise_value
from storage.engine import get_engine, read_engine, session_scope
from storage.metrics import EXPORT_COLUMNS, metrics_frame
from storage.registry import get_model


def _clean(value: Any) -> Any:
    """A JSON-ready value: non-finite floats as null, timestamps as ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def metric_records(
    url: str | None, model: str, *, start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Stored results of ``model`` as plain records (the export contract)."""
    engine = read_engine(get_engine(url))
    with session_scope(engine) as session:
        frame = metrics_frame(session, model=get_model(session, model), start=start, end=end)
    return [
        {col: _clean(row[col]) for col in EXPORT_COLUMNS} for row in frame.to_dict(orient="records")
    ]


def export_metrics(
    url: str | None,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    fmt: str = "json",
) -> str:
    """The export text in ``json`` (an array) or ``csv`` (details as a JSON string)."""
    records = metric_records(url, model, start=start, end=end)
    if fmt == "json":
        return json.dumps(records, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    frame = pd.DataFrame(records, columns=EXPORT_COLUMNS)
    frame["details"] = [json.dumps(d, sort_keys=True, allow_nan=False) for d in frame["details"]]
    frame = frame.map(neutralise_value)  # text cells only; numbers unchanged
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue()

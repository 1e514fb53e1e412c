"""Aggregate rows back into a :class:`WindowSummary` (PostgreSQL and Spark executors).

Both executors return the same shapes: numeric rows ``[column * STRIDE + bin, count, min,
max, sum, sum of squares]``, categorical rows ``[column, value as text, count]``, cells
split by grouping set (dicts of keys, ``n``, ``n_labelled`` and ``sums``) and sample rows
``[key, id, *values]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from monitors.summaries._pg_statement import MISSING, NEGINF, POSINF, STRIDE, CellSets
from monitors.summaries.memory import cells_from_rows, rank_categories
from monitors.summaries.types import (
    FORMAT_VERSION,
    CategoricalSummary,
    Cells,
    NumericSummary,
    RegressionErrors,
    Sample,
    ScoreHistogram,
    SummarySpec,
    Value,
    WindowSummary,
    cell_order,
)

#: The pandas dtype the row path reads each schema dtype as (quality details).
FRAME_DTYPE = {"float": "float64", "int": "Int64", "bool": "boolean", "string": "str"}


class Columns(Protocol):
    """The columns a source has (user names) and their schema dtypes."""

    @property
    def physical(self) -> Mapping[str, str]: ...

    @property
    def dtypes(self) -> Mapping[str, str]: ...


def converter(dtype: str) -> Callable[[Any], Value]:
    """Text or JSON value -> the Python value the in-memory executor gives."""

    def convert(value: Any) -> Value:
        if value is None:
            return None
        if dtype == "float":
            return float(value)
        if dtype == "int":
            return int(value)
        if dtype == "bool":
            return value if isinstance(value, bool) else value == "true"
        return str(value)

    return convert


def _numeric(rows: list[list[Any]], cols: Columns, spec: SummarySpec) -> dict[str, Any]:
    """Numeric summaries (and latency) from the ``numeric`` JSON rows."""
    specs = [s.column for s in spec.numeric if s.column in cols.physical]
    if spec.latency is not None and spec.latency in cols.physical:
        specs.append(spec.latency)
    grouped: dict[int, list[list[Any]]] = {i: [] for i in range(len(specs))}
    for row in rows or []:
        grouped[(row[0] + 3) // STRIDE].append([(row[0] + 3) % STRIDE - 3, *row[1:]])
    out = {}
    for i, name in enumerate(specs):
        special = {r[0]: r[1] for r in grouped[i] if r[0] < 0}
        bins = sorted((r for r in grouped[i] if r[0] >= 0), key=lambda r: r[0])
        finite = [float(r[2]) for r in bins]
        out[name] = NumericSummary(
            column=name,
            n_missing=int(special.get(MISSING, 0)),
            n_posinf=int(special.get(POSINF, 0)),
            n_neginf=int(special.get(NEGINF, 0)),
            n_type_mismatch=0,
            n=int(sum(r[1] for r in bins)),
            min=min(finite) if finite else None,
            max=max(float(r[3]) for r in bins) if bins else None,
            sum=float(sum(r[4] for r in bins)),
            sum_sq=float(sum(r[5] for r in bins)),
            bins=tuple(int(r[0]) for r in bins),
            counts=tuple(int(r[1]) for r in bins),
            bin_min=tuple(finite),
            bin_max=tuple(float(r[3]) for r in bins),
            dtype_name=FRAME_DTYPE[cols.dtypes[name]] if name != spec.latency else "float64",
        )
    return out


def _categorical(rows: list[list[Any]], cols: Columns, spec: SummarySpec) -> dict[str, Any]:
    """Categorical summaries from the ``categorical`` JSON rows."""
    specs = [s for s in spec.categorical if s.column in cols.physical]
    counted: list[dict[Value, int]] = [{} for _ in specs]
    missing = [0] * len(specs)
    for c, v, n in rows or []:
        if v is None:
            missing[c] += n
        else:
            value = converter(specs[c].dtype)(v)
            counted[c][value] = counted[c].get(value, 0) + n
    out = {}
    for i, s in enumerate(specs):
        n_known, values, counts, other, other_distinct = rank_categories(
            set(s.categories), counted[i], spec.top_k
        )
        out[s.column] = CategoricalSummary(
            column=s.column,
            n_known=n_known,
            n_missing=missing[i],
            n_type_mismatch=0,
            values=values,
            counts=counts,
            other_count=other,
            other_distinct=other_distinct,
            dtype_name=FRAME_DTYPE[cols.dtypes[s.column]],
        )
    return out


def by_set(rows: list[list[Any]], cells: CellSets) -> dict[str, list[dict[str, Any]]]:
    """Rows of the cells query, split by grouping set, as dicts."""
    masks = {cells.mask(name): name for name in cells.sets}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in cells.sets}
    width = len(cells.names)
    for row in rows or []:
        name = masks[row[0]]
        record = dict(zip(cells.names, row[1 : 1 + width], strict=True))
        record["n"], record["n_labelled"] = row[1 + width], row[2 + width]
        record["sums"] = [0.0 if v is None else float(v) for v in row[3 + width :]]
        out[name].append(record)
    return out


def _scores(
    rows: list[dict[str, Any]], label: Callable[[Any], Value]
) -> tuple[ScoreHistogram, ...]:
    """Per-label score histograms from the ``scores`` cells."""
    by_label: dict[Value, list[dict[str, Any]]] = {}
    for r in rows:
        if r["label"] is not None and r["score_bin"] is not None:
            by_label.setdefault(label(r["label"]), []).append(r)
    out = []
    for value, cells in by_label.items():
        cells.sort(key=lambda r: r["score_bin"])
        out.append(
            ScoreHistogram(
                label=value,
                n=sum(r["n"] for r in cells),
                sum=sum(r["sums"][0] for r in cells),
                sum_sq=sum(r["sums"][1] for r in cells),
                sum_log=sum(r["sums"][2] for r in cells),
                sum_log1m=sum(r["sums"][3] for r in cells),
                bins=tuple(int(r["score_bin"]) for r in cells),
                counts=tuple(int(r["n"]) for r in cells),
                sums=tuple(r["sums"][0] for r in cells),
            )
        )
    return tuple(sorted(out, key=lambda h: cell_order((h.label,))))


def _regression(
    sets: dict[str, list[dict[str, Any]]], keys: list[Callable[[Any], Value]]
) -> tuple[Cells, RegressionErrors | None, int]:
    """Regression fairness groups, error sums and rows without a prediction."""
    total: dict[str, Any] = sets["total"][0] if sets["total"] else {"n": 0, "sums": [0.0] * 8}
    s = total["sums"]
    errors = RegressionErrors(int(s[2]), s[3], s[4], s[5], s[6], s[7])
    rows = []
    for r in sets.get("groups", []):
        if r["sums"][0] > 0:
            key = tuple(k(r[f"s{i}"]) for i, k in enumerate(keys))
            g = r["sums"]  # squares: sums[8] (prediction), sums[4] (absolute error)
            extra = (g[8], g[4]) if len(g) > 8 else ()
            rows.append((key, int(g[0]), (g[1], g[2], g[3], *extra)))
    rows.sort(key=lambda item: cell_order(item[0]))
    groups = Cells(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows))
    n_missing = int(total["n"] - s[0]) if "groups" in sets else 0
    return groups, errors, n_missing


def _classification(
    sets: dict[str, list[dict[str, Any]]],
    keys: list[Callable[[Any], Value]],
    label: Callable[[Any], Value],
    pred: Callable[[Any], Value],
) -> tuple[Cells, Cells, int]:
    """Fairness cells, confusion cells and rows without a prediction (with sensitive)."""

    def outcome(r: dict[str, Any]) -> tuple[Value, ...]:
        return label(r.get("label")), pred(r["pred"])

    fairness: list[tuple[tuple[Value, ...], int]] = []
    n_missing = 0
    for r in sets.get("fairness", []):
        if r["pred"] is None:
            n_missing += int(r["n"])
            continue
        key = tuple(k(r[f"s{i}"]) for i, k in enumerate(keys))
        fairness.append(((*key, *outcome(r)), int(r["n"])))
    confusion = [(outcome(r), int(r["n"])) for r in sets.get("confusion", [])]
    return cells_from_rows(fairness), cells_from_rows(confusion), n_missing


def _sample(rows: list[list[Any]], spec: SummarySpec, n_rows: int) -> Sample:
    """The sample from the ``sample`` JSON rows (``"Infinity"`` -> ``"inf"``)."""
    special: dict[str, Value] = {"Infinity": "inf", "-Infinity": "-inf", "NaN": None}
    columns: list[list[Value]] = [[] for _ in spec.sample_columns]
    for row in rows or []:
        for j, (value, dtype) in enumerate(zip(row[2:], spec.sample_dtypes, strict=True)):
            if dtype == "float" and isinstance(value, str):
                columns[j].append(special[value])
            elif dtype == "float" and value is not None:
                columns[j].append(float(value))
            else:
                columns[j].append(value)
    return Sample(
        keys=tuple(float(r[0]) for r in rows or []),
        ids=tuple(str(r[1]) for r in rows or []),
        values=tuple(tuple(c) for c in columns),
        n_seen=n_rows,
        capacity=spec.sample_size,
    )


def parse_summary(row: Any, cols: Columns, spec: SummarySpec, cells: CellSets) -> WindowSummary:
    """The :class:`WindowSummary` from the PostgreSQL statement's one result row."""
    sets = by_set(row.cells, cells)
    return assemble(row.numeric, row.categorical, sets, row.sample, cols, spec, "postgres")


def assemble(
    numeric_rows: list[list[Any]] | None,
    categorical_rows: list[list[Any]] | None,
    sets: dict[str, list[dict[str, Any]]],
    sample_rows: list[list[Any]] | None,
    cols: Columns,
    spec: SummarySpec,
    executor: str,
) -> WindowSummary:
    """A :class:`WindowSummary` from an executor's aggregate rows (module docstring)."""
    numeric = _numeric(numeric_rows or [], cols, spec)
    categorical = _categorical(categorical_rows or [], cols, spec)
    total: dict[str, Any] = sets["total"][0] if sets["total"] else {"n": 0, "n_labelled": 0}
    conv = {name: converter(cols.dtypes[name]) for name in cols.dtypes}
    keys = [conv[s] for s in spec.sensitive]
    label = conv[spec.label] if spec.label is not None else converter("string")
    regression: RegressionErrors | None = None
    confusion = Cells((), ())
    if spec.task == "regression":
        fairness, errors, n_missing = _regression(sets, keys)
        regression = errors if spec.label is not None else None
        scores: tuple[ScoreHistogram, ...] = ()
    else:
        fairness, confusion, n_missing = _classification(sets, keys, label, conv[spec.prediction])
        scores = _scores(sets.get("scores", []), label)
    latency = numeric.pop(spec.latency, None) if spec.latency else None
    return WindowSummary(
        format_version=FORMAT_VERSION,
        spec_sha256=spec.sha256,
        reference_version=spec.reference_version,
        executor=executor,
        top_k=spec.top_k,
        n_rows=int(total["n"]),
        n_labelled=int(total["n_labelled"]) if spec.label is not None else 0,
        numeric=tuple(numeric[s.column] for s in spec.numeric if s.column in numeric),
        categorical=tuple(
            categorical[s.column] for s in spec.categorical if s.column in categorical
        ),
        fairness=fairness,
        n_missing_prediction=n_missing,
        confusion=confusion,
        regression=regression,
        scores=scores,
        latency=latency,
        sample=_sample(sample_rows or [], spec, int(total["n"])),
    )

"""The PostgreSQL executor's statement: one SQL statement per window computes its summary.

The statement (built with SQLAlchemy Core against the model's log table, names never
formatted into text) is one ``SELECT`` of four scalar sub-queries, each a JSON array:

* **numeric** — every numeric column (and latency) unnested into ``(column, bin, value)``
  with ``width_bucket(value, <the reference's fine edges>)`` (``-1`` null or NaN, ``-2``
  +inf, ``-3`` -inf), grouped by column and bin: count, minimum, maximum, sum, sum of
  squares. One scan; PostgreSQL runs the aggregation in parallel workers;
* **categorical** — every categorical column unnested into ``(column, value as text)``,
  grouped: the exact count of every value (top-K is applied on the way out);
* **cells** — ``GROUPING SETS`` over (sensitive..., label, prediction), (label,
  prediction), (label, score bin) and the whole window, with the sums the performance and
  regression-fairness metrics need;
* **sample** — the ``sample_size`` rows with the smallest ``md5(salt || id)`` key
  (``ORDER BY key LIMIT k``), the same rows as every other executor picks.

Only the aggregates (kilobytes to a few megabytes) leave the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, BIT, array
from sqlalchemy.sql.elements import ColumnElement

from monitors.summaries.memory import EPS
from monitors.summaries.sample import KEY_HEX_DIGITS, KEY_SCALE
from monitors.summaries.types import SummarySpec

#: Codes of the numeric query: bins of missing, +inf and -inf values; key = column * stride
#: + bin.
MISSING, POSINF, NEGINF = -1, -2, -3
STRIDE = 10_000_000


@dataclass(frozen=True, slots=True)
class LogColumns:
    """The log table and, per user column name, its physical column and schema dtype."""

    table: Table
    physical: dict[str, str]
    dtypes: dict[str, str]

    def col(self, name: str) -> ColumnElement[Any]:
        """The table column of user column ``name``."""
        return self.table.c[self.physical[name]]


def _present(cols: LogColumns, name: str) -> ColumnElement[bool]:
    """``name`` holds a value (not null, and not NaN for a float column)."""
    column = cols.col(name)
    if cols.dtypes[name] == "float":
        return and_(column.is_not(None), column != literal(float("nan"), Double))
    return column.is_not(None)


def _clean(cols: LogColumns, name: str) -> ColumnElement[Any]:
    """Column ``name`` with NaN as null (float columns)."""
    column = cols.col(name)
    if cols.dtypes[name] == "float":
        return func.nullif(column, literal(float("nan"), Double))
    return column


def _edges(values: Sequence[float], name: str) -> Any:
    """A ``float8[]`` bind parameter holding bin edges."""
    return bindparam(name, value=list(values), type_=ARRAY(Double))


def _bin(value: ColumnElement[Any], edges: Any) -> ColumnElement[Any]:
    """The fine bin of a float value; negative codes for missing and infinite values."""
    return case(
        (or_(value.is_(None), value == literal(float("nan"), Double)), MISSING),
        (value == literal(float("inf"), Double), POSINF),
        (value == literal(float("-inf"), Double), NEGINF),
        else_=func.width_bucket(value, edges),
    )


def _numeric_query(cols: LogColumns, spec: SummarySpec, where: ColumnElement[bool]) -> Any:
    """Per numeric column and bin: count, min, max, sum, sum of squares (JSON)."""
    specs = [(s.column, s.edges) for s in spec.numeric if s.column in cols.physical]
    if spec.latency is not None and spec.latency in cols.physical:
        specs.append((spec.latency, spec.latency_edges))
    if not specs:
        return literal(None)
    keys, values = [], []
    for i, (name, edges) in enumerate(specs):
        value = cast(cols.col(name), Double)
        keys.append(literal(i * STRIDE, BigInteger) + _bin(value, _edges(edges, f"e{i}")))
        values.append(value)
    unnest = func.unnest(array(keys), array(values)).table_valued("k", "x").render_derived(name="u")
    finite = and_(unnest.c.x > float("-inf"), unnest.c.x < float("inf"))
    x = case((finite, unnest.c.x))
    grouped = (
        select(
            unnest.c.k,
            func.count().label("n"),
            func.min(x).label("lo"),
            func.max(x).label("hi"),
            func.sum(x).label("s"),
            func.sum(x * x).label("ss"),
        )
        .select_from(cols.table.join(unnest, true()))
        .where(where)
        .group_by(unnest.c.k)
        .subquery("numeric_bins")
    )
    row = func.json_build_array(*grouped.c)
    return select(func.json_agg(row)).select_from(grouped).scalar_subquery()


def _categorical_query(cols: LogColumns, spec: SummarySpec, where: ColumnElement[bool]) -> Any:
    """Per categorical column and value (as text): count (JSON)."""
    names = [s.column for s in spec.categorical if s.column in cols.physical]
    if not names:
        return literal(None)
    idx = array([literal(i, Integer) for i in range(len(names))])
    texts = array([cast(_clean(cols, n), Text) for n in names])
    unnest = func.unnest(idx, texts).table_valued("c", "v").render_derived(name="cv")
    grouped = (
        select(unnest.c.c, unnest.c.v, func.count().label("n"))
        .select_from(cols.table.join(unnest, true()))
        .where(where)
        .group_by(unnest.c.c, unnest.c.v)
        .subquery("categories")
    )
    row = func.json_build_array(*grouped.c)
    return select(func.json_agg(row)).select_from(grouped).scalar_subquery()


def _sums(cols: LogColumns, spec: SummarySpec) -> list[ColumnElement[Any]]:
    """The per-cell sums of the cells query (score metrics, or regression metrics)."""
    if spec.task == "regression" and spec.label is not None:
        pred, label = cast(cols.col(spec.prediction), Double), cast(cols.col(spec.label), Double)
        both = and_(_present(cols, spec.prediction), _present(cols, spec.label))
        err = func.abs(label - pred)
        shift = literal(spec.label_shift, Double)
        centred = label - shift
        return [
            func.count().filter(_present(cols, spec.prediction)),  # rows with a prediction
            func.sum(pred).filter(_present(cols, spec.prediction)),
            func.count().filter(both),
            func.sum(err).filter(both),
            func.sum(err * err).filter(both),
            func.sum(centred).filter(both),
            func.sum(centred * centred).filter(both),
            func.sum(err / func.greatest(func.abs(label), literal(EPS, Double))).filter(both),
            func.sum((pred - shift) * (pred - shift)).filter(_present(cols, spec.prediction)),
        ]
    if spec.score is None or spec.label is None:
        return []
    p = cast(cols.col(spec.score), Double)
    keep = and_(_present(cols, spec.label), _present(cols, spec.score))
    lo, hi = literal(EPS, Double), literal(1 - EPS, Double)
    clip = func.greatest(func.least(p, hi), lo)
    clip1m = func.greatest(func.least(literal(1.0, Double) - p, hi), lo)
    return [
        func.sum(p).filter(keep),
        func.sum(p * p).filter(keep),
        func.sum(func.ln(clip)).filter(keep),
        func.sum(func.ln(clip1m)).filter(keep),
    ]


@dataclass(frozen=True, slots=True)
class CellSets:
    """The grouping expressions of the cells query and the grouping sets over them."""

    exprs: list[ColumnElement[Any]]
    names: list[str]
    """Role of each expression: ``s0``.. (sensitive), ``label``, ``pred``, ``score_bin``."""
    sets: dict[str, list[str]]
    """Set name -> the expressions it groups by (``total``, ``fairness``, ``confusion``,
    ``scores``, ``groups``)."""

    def mask(self, name: str) -> int:
        """``GROUPING(*exprs)`` of the rows of set ``name`` (bit set = not grouped)."""
        grouped = set(self.sets[name])
        bits = [0 if n in grouped else 1 for n in self.names]
        return int("".join(map(str, bits)), 2) if bits else 0


def cell_sets(cols: LogColumns, spec: SummarySpec) -> CellSets:
    """Which cells the model's task needs (see :func:`_cells_query`)."""
    exprs: list[ColumnElement[Any]] = [_clean(cols, s) for s in spec.sensitive]
    names = [f"s{i}" for i in range(len(spec.sensitive))]
    sets: dict[str, list[str]] = {"total": []}
    if spec.task == "regression":
        if names:
            sets["groups"] = list(names)
        return CellSets(exprs, names, sets)
    has_label = spec.label is not None
    if has_label:
        exprs.append(_clean(cols, spec.label))  # type: ignore[arg-type]
        names.append("label")
    exprs.append(_clean(cols, spec.prediction))
    names.append("pred")
    outcome = ["label", "pred"] if has_label else ["pred"]
    if spec.sensitive:
        sets["fairness"] = [*names[: len(spec.sensitive)], *outcome]
    sets["confusion"] = outcome
    if spec.score is not None and spec.score_edges and has_label:
        score = cast(cols.col(spec.score), Double)
        edges = _edges(spec.score_edges, "se")
        exprs.append(case((_present(cols, spec.score), func.width_bucket(score, edges))))
        names.append("score_bin")
        sets["scores"] = ["label", "score_bin"]
    return CellSets(exprs, names, sets)


def _cells_query(
    cols: LogColumns, spec: SummarySpec, cells: CellSets, where: ColumnElement[bool]
) -> Any:
    """Fairness, confusion and score cells and window totals, by grouping sets (JSON).

    Each row: ``GROUPING(*exprs)``, the expressions, rows, labelled rows, the sums.
    """
    labelled = _present(cols, spec.label) if spec.label is not None else false()
    exprs = [e.label(n) for e, n in zip(cells.exprs, cells.names, strict=True)]
    grouping = func.grouping(*cells.exprs) if cells.exprs else literal(0, Integer)
    raw = dict(zip(cells.names, cells.exprs, strict=True))
    sets = [tuple_(*(raw[n] for n in members)) for members in cells.sets.values()]
    grouped = (
        select(
            grouping.label("g"),
            *exprs,
            func.count().label("n"),
            func.count().filter(labelled).label("n_labelled"),
            *(s.label(f"sum{i}") for i, s in enumerate(_sums(cols, spec))),
        )
        .where(where)
        .group_by(func.grouping_sets(*sets))
        .subquery("cells")
    )
    row = func.json_build_array(*grouped.c)
    return select(func.json_agg(row)).select_from(grouped).scalar_subquery()


def sample_key(cols: LogColumns, spec: SummarySpec) -> ColumnElement[Any]:
    """``int(md5(salt || id)[:13], 16) / 16**13`` in SQL."""
    hex_digits = func.substr(
        func.md5(literal(spec.sample_salt, Text) + cast(cols.col(spec.id), Text)),
        1,
        KEY_HEX_DIGITS,
    )
    bits = cast(literal("x", Text) + hex_digits, BIT(4 * KEY_HEX_DIGITS))
    return cast(cast(bits, BigInteger), Double) / literal(KEY_SCALE, Double)


def _sample_query(cols: LogColumns, spec: SummarySpec, where: ColumnElement[bool]) -> Any:
    """The ``sample_size`` rows with the smallest keys, as JSON arrays."""
    key = sample_key(cols, spec).label("key")
    values = [cols.col(c) if c in cols.physical else literal(None) for c in spec.sample_columns]
    ordered = (
        select(key, cast(cols.col(spec.id), Text).label("id"), *values)
        .where(where)
        .order_by(key, cols.col(spec.id))
        .limit(spec.sample_size)
        .subquery("sample")
    )
    row = func.json_build_array(*ordered.c)
    return select(func.json_agg(row)).select_from(ordered).scalar_subquery()


def summary_statement(
    cols: LogColumns, spec: SummarySpec, start_us: int, end_us: int
) -> tuple[Any, CellSets]:
    """The one statement computing a window's summary (four JSON columns), and its cells."""
    ts = cols.col(spec.timestamp)
    where = and_(ts >= literal(int(start_us), BigInteger), ts < literal(int(end_us), BigInteger))
    cells = cell_sets(cols, spec)
    statement = select(
        _numeric_query(cols, spec, where).label("numeric"),
        _categorical_query(cols, spec, where).label("categorical"),
        _cells_query(cols, spec, cells, where).label("cells"),
        _sample_query(cols, spec, where).label("sample"),
    )
    return statement, cells

"""The Apache Spark executor: window summaries of a prediction log in a data lake.

A model registered with ``--source parquet:PATH`` or ``--source spark:catalog.db.table``
keeps its rows where they are; each window's summary is computed by four Spark jobs
written with the DataFrame API and built-in functions only (no Python UDFs), each reading
only the Parquet columns it needs:

1. numeric bins: each numeric column projected on its own (bin from the reference's fine
   edges by the JVM ``Bucketizer``), the narrow projections stacked (``UNION ALL``) and
   grouped by bin: count, minimum, maximum, sum, sum of squares;
2. categories: one ``GROUP BY`` value per categorical column, stacked;
3. cells: each row exploded into one entry per grouping set (fairness, confusion,
   score bins, totals), grouped with the sums the metrics need;
4. sample: the ``sample_size`` rows with the smallest ``md5(salt || id)`` key (Spark's
   top-k, ``orderBy().limit()``) among the rows whose key's hex prefix lies below a bound
   that about ``sample_size + 10 * sqrt(sample_size)`` keys pass (checked; rerun over
   every row if too few pass), so that only those rows are converted and sorted.

A window is read once per job rather than cached: Parquet is columnar, each job reads a
few columns, and a cached 50M-row window would not fit a local driver's memory (it would
spill to disk).

Only those aggregates reach the driver (as Arrow); they are assembled exactly like the
PostgreSQL executor's (:mod:`monitors.summaries._pg_results`). The session comes from
``DRIFTWARDEN_SPARK_MASTER`` (default ``local[*]``) and the standard Spark configuration
(``spark-defaults.conf``, ``SPARK_CONF_DIR``), so the same command runs on a cluster.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitors.errors import ConfigError
from monitors.summaries._pg_results import assemble
from monitors.summaries._pg_statement import MISSING, NEGINF, POSINF, STRIDE
from monitors.summaries.memory import EPS
from monitors.summaries.sample import KEY_HEX_DIGITS, KEY_SCALE
from monitors.summaries.types import SummarySpec, WindowSummary

MASTER_ENV = "DRIFTWARDEN_SPARK_MASTER"
SOURCE_KINDS = ("parquet", "spark")


@dataclass(frozen=True, slots=True)
class SourceColumns:
    """The columns of a Spark source (user names are the source's names) and dtypes."""

    physical: Mapping[str, str]
    dtypes: Mapping[str, str]


def parse_source(source: str) -> tuple[str, str]:
    """``parquet:PATH`` or ``spark:TABLE`` -> ``(kind, location)``.

    Raises
    ------
    ConfigError
        If the text is not one of those forms.

    Examples
    --------
    >>> parse_source("spark:lake.ml.predictions")
    ('spark', 'lake.ml.predictions')
    """
    kind, sep, location = source.partition(":")
    if not sep or kind not in SOURCE_KINDS or not location.strip():
        raise ConfigError(f"--source: expected 'parquet:PATH' or 'spark:TABLE'; got {source!r}")
    return kind, location.strip()


def spark_session(master: str | None = None) -> Any:
    """The Spark session: ``master`` or ``DRIFTWARDEN_SPARK_MASTER`` (default ``local[*]``).

    Settings not given here come from the standard Spark configuration. Arrow carries the
    aggregates to the driver; the session time zone is UTC.
    """
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("driftwarden")
        .master(master or os.environ.get(MASTER_ENV, "local[*]"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    return builder.getOrCreate()


def read_source(spark: Any, source: str) -> Any:
    """The DataFrame of a ``parquet:PATH`` or ``spark:TABLE`` source."""
    kind, location = parse_source(source)
    return spark.read.parquet(location) if kind == "parquet" else spark.table(location)


def _micros(df: Any, name: str) -> Any:
    """Column ``name`` as epoch microseconds (timestamp columns converted, integers kept)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    kind = df.schema[name].dataType
    if isinstance(kind, TimestampType | TimestampNTZType):
        return F.unix_micros(F.col(name).cast("timestamp"))
    return F.col(name).cast("long")


def _clean(df: Any, name: str) -> Any:
    """Column ``name`` with NaN as null (floating-point columns)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, FloatType

    col = F.col(name)
    if isinstance(df.schema[name].dataType, DoubleType | FloatType):
        return F.when(~F.isnan(col), col)
    return col


def _text(df: Any, name: str) -> Any:
    """Column ``name`` as text (NaN as null) for grouping keys."""
    return _clean(df, name).cast("string")


def _numeric_entries(df: Any, i: int, name: str, edges: tuple[float, ...]) -> Any:
    """``(k, x)`` per row of numeric column ``name`` (the ``i``-th): bin key and finite value."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    x = F.col(name).cast("double")
    finite = ~F.isnan(x) & (x != float("inf")) & (x != float("-inf"))
    narrow = df.select(
        x.alias("__x"), F.when(x.isNotNull() & finite, x).otherwise(0.0).alias("__in")
    )
    if edges:
        splits = [float("-inf"), *edges, float("inf")]
        narrow = Bucketizer(
            splits=splits, inputCol="__in", outputCol="__bin", handleInvalid="keep"
        ).transform(narrow)
        bin_ = F.col("__bin").cast("long")
    else:
        bin_ = F.lit(0).cast("long")
    x = F.col("__x")
    finite = ~F.isnan(x) & (x != float("inf")) & (x != float("-inf"))
    code = (
        F.when(x.isNull() | F.isnan(x), MISSING)
        .when(x == float("inf"), POSINF)
        .when(x == float("-inf"), NEGINF)
        .otherwise(bin_)
    )
    key = F.lit(i * STRIDE).cast("long") + code
    return narrow.select(key.alias("k"), F.when(finite, x).alias("x"))


def _union(frames: list[Any]) -> Any:
    """The rows of all ``frames`` (same columns), without deduplication."""
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionAll(frame)
    return out


def _numeric_rows(df: Any, spec: SummarySpec, cols: SourceColumns) -> list[list[Any]]:
    """Numeric rows (and latency), in one Spark job.

    Each column is projected on its own (its value and its bin, from the reference's fine
    edges by the JVM ``Bucketizer``), the narrow projections stacked by ``UNION ALL`` and
    grouped by bin key once (with the categories, measured about 3x faster than exploding
    every row into one struct per column and grouping those).
    """
    from pyspark.sql import functions as F

    phys = cols.physical
    specs = [(phys[s.column], s.edges) for s in spec.numeric if s.column in phys]
    if spec.latency is not None and spec.latency in phys:
        specs.append((phys[spec.latency], spec.latency_edges))
    if not specs:
        return []
    stacked = _union([_numeric_entries(df, i, n, e) for i, (n, e) in enumerate(specs)])
    grouped = stacked.groupBy("k").agg(
        F.count(F.lit(1)).alias("n"),
        F.min("x").alias("lo"),
        F.max("x").alias("hi"),
        F.sum("x").alias("s"),
        F.sum(F.col("x") * F.col("x")).alias("ss"),
    )
    return [
        [r["k"], r["n"], r["lo"], r["hi"], r["s"] or 0.0, r["ss"] or 0.0]
        for r in grouped.toArrow().to_pylist()
    ]


def _categorical_rows(df: Any, spec: SummarySpec, cols: SourceColumns) -> list[list[Any]]:
    """Categorical rows ``[column, value as text, count]``, in one Spark job.

    One ``GROUP BY value`` per column (each reads one Parquet column), the counts stacked by
    ``UNION ALL``.
    """
    from pyspark.sql import functions as F

    phys = cols.physical
    cats = [phys[s.column] for s in spec.categorical if s.column in phys]
    if not cats:
        return []
    counted = [
        df.groupBy(_text(df, name).alias("v"))
        .agg(F.count(F.lit(1)).alias("n"))
        .select(F.lit(c).alias("c"), "v", "n")
        for c, name in enumerate(cats)
    ]
    return [[r["c"], r["v"], r["n"]] for r in _union(counted).toArrow().to_pylist()]


def _present(df: Any, name: str) -> Any:
    """``name`` holds a value (not null, not NaN)."""
    return _clean(df, name).isNotNull()


def _sums(df: Any, spec: SummarySpec, cols: SourceColumns) -> list[Any]:
    """Per-row terms of the cell sums (as the PostgreSQL executor's ``_sums``)."""
    from pyspark.sql import functions as F

    phys = cols.physical
    if spec.task == "regression" and spec.label is not None:
        pred = F.col(phys[spec.prediction]).cast("double")
        label = F.col(phys[spec.label]).cast("double")
        has_pred = _present(df, phys[spec.prediction])
        both = has_pred & _present(df, phys[spec.label])
        err = F.abs(label - pred)
        centred = label - F.lit(spec.label_shift)
        ape = err / F.greatest(F.abs(label), F.lit(EPS))
        terms = [
            (has_pred, F.lit(1.0)),
            (has_pred, pred),
            (both, F.lit(1.0)),
            (both, err),
            (both, err * err),
            (both, centred),
            (both, centred * centred),
            (both, ape),
            # per-group squares (centred): regression fairness intervals
            (has_pred, (pred - F.lit(spec.label_shift)) * (pred - F.lit(spec.label_shift))),
        ]
        return [F.when(c, t) for c, t in terms]
    if spec.score is None or spec.label is None:
        return []
    p = F.col(phys[spec.score]).cast("double")
    keep = _present(df, phys[spec.label]) & _present(df, phys[spec.score])
    clip = F.greatest(F.least(p, F.lit(1 - EPS)), F.lit(EPS))
    clip1m = F.greatest(F.least(F.lit(1.0) - p, F.lit(1 - EPS)), F.lit(EPS))
    return [F.when(keep, t) for t in (p, p * p, F.log(clip), F.log(clip1m))]


def _cell_keys(df: Any, spec: SummarySpec, cols: SourceColumns) -> tuple[dict[str, Any], Any]:
    """The grouping keys by role name (text; the score bin a long) and the bucketed frame."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    phys = cols.physical
    keys = {f"s{i}": _text(df, phys[s]) for i, s in enumerate(spec.sensitive)}
    if spec.task == "regression":
        return keys, df
    if spec.label is not None:
        keys["label"] = _text(df, phys[spec.label])
    keys["pred"] = _text(df, phys[spec.prediction])
    if spec.score is not None and spec.score_edges and spec.label is not None:
        score = phys[spec.score]
        present = _present(df, score)
        df = df.withColumn("__score", F.when(present, F.col(score).cast("double")).otherwise(0.0))
        splits = [float("-inf"), *spec.score_edges, float("inf")]
        df = Bucketizer(splits=splits, inputCol="__score", outputCol="__score_bin").transform(df)
        keys["score_bin"] = F.when(present, F.col("__score_bin").cast("long"))
    return keys, df


def _cell_sets(spec: SummarySpec, names: list[str]) -> dict[str, list[str]]:
    """Grouping sets by name (as the PostgreSQL executor's :func:`cell_sets`)."""
    sensitive = [n for n in names if n.startswith("s")]
    sets: dict[str, list[str]] = {"total": []}
    if spec.task == "regression":
        if sensitive:
            sets["groups"] = sensitive
        return sets
    outcome: list[str] = [n for n in ("label", "pred") if n in names]
    if sensitive:
        sets["fairness"] = [*sensitive, *outcome]
    sets["confusion"] = outcome
    if "score_bin" in names:
        sets["scores"] = ["label", "score_bin"]
    return sets


def _cells(df: Any, spec: SummarySpec, cols: SourceColumns) -> dict[str, list[dict[str, Any]]]:
    """Rows of every grouping set with counts and sums, in one Spark job."""
    from pyspark.sql import functions as F

    keys, df = _cell_keys(df, spec, cols)
    names = list(keys)
    sets = _cell_sets(spec, names)
    labelled = _present(df, cols.physical[spec.label]) if spec.label is not None else F.lit(False)
    sums = _sums(df, spec, cols)
    entries = []
    for index, members in enumerate(sets.values()):
        fields = [F.lit(index).alias("set")]
        for n in names:
            kind = "long" if n == "score_bin" else "string"
            fields.append((keys[n] if n in members else F.lit(None).cast(kind)).alias(n))
        fields.append(F.when(labelled, 1).otherwise(0).alias("lab"))
        fields += [term.cast("double").alias(f"a{i}") for i, term in enumerate(sums)]
        entries.append(F.struct(*fields))
    exploded = df.select(F.explode(F.array(*entries)).alias("e")).select("e.*")
    grouped = exploded.groupBy("set", *names).agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("lab").alias("n_labelled"),
        *(F.sum(f"a{i}").alias(f"a{i}") for i in range(len(sums))),
    )
    by_name = list(sets)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in sets}
    for row in grouped.toArrow().to_pylist():
        record = {n: row[n] for n in names}
        record["n"], record["n_labelled"] = row["n"], row["n_labelled"] or 0
        record["sums"] = [0.0 if row[f"a{i}"] is None else row[f"a{i}"] for i in range(len(sums))]
        out[by_name[row["set"]]].append(record)
    return out


def _sample_value(value: Any, dtype: str) -> Any:
    """A sampled cell in the PostgreSQL executor's JSON form (NaN and infinities as text)."""
    if dtype == "float" and isinstance(value, float) and value != value:
        return "NaN"
    if dtype == "float" and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _key_bound(size: int, n_rows: int) -> str | None:
    """A hex prefix of ``md5(salt || id)`` below which ``size`` of ``n_rows`` keys fall.

    The bound lies ``10 * sqrt(size) + 10`` keys above ``size`` in expectation (keys are
    uniform), so that fewer than ``size`` keys fall below it with a probability under
    ``1e-9`` (about ``1e-20`` for 10,000); ``None`` when every row is a candidate anyway.
    """
    if n_rows <= size:
        return None
    expected = size + 10.0 * size**0.5 + 10.0
    bound = math.ceil(expected / n_rows * KEY_SCALE)
    if bound >= KEY_SCALE:
        return None
    return f"{bound:0{KEY_HEX_DIGITS}x}"


def _sample(df: Any, spec: SummarySpec, cols: SourceColumns, n_rows: int) -> list[list[Any]]:
    """The rows with the smallest ``md5(salt || id)`` keys, in one Spark job (rarely two).

    The key of every row is ``md5`` of its id, as in :mod:`monitors.summaries.sample`. The
    rows are first filtered on the key's hex prefix against :func:`_key_bound` (a string
    comparison, before any conversion): the ``sample_size`` smallest keys lie below it
    unless fewer than ``sample_size`` rows pass, in which case the job is run again over
    every row — so the sample is exactly that of the other executors.
    """
    from pyspark.sql import functions as F

    phys = cols.physical
    ident = F.col(phys[spec.id]).cast("string")
    prefix = F.substring(F.md5(F.concat(F.lit(spec.sample_salt), ident)), 1, KEY_HEX_DIGITS)
    key = F.conv(F.col("__prefix"), 16, 10).cast("long").cast("double")
    values = []
    for j, (name, dtype) in enumerate(zip(spec.sample_columns, spec.sample_dtypes, strict=True)):
        if name not in phys:
            values.append(F.lit(None).alias(f"v{j}"))
        elif dtype == "timestamp":
            values.append(_micros(df, phys[name]).alias(f"v{j}"))
        else:
            values.append(F.col(phys[name]).alias(f"v{j}"))
    keyed = df.select(prefix.alias("__prefix"), ident.alias("id"), *values)

    def pick(frame: Any) -> list[dict[str, Any]]:
        """The ``sample_size`` smallest ``(key, id)`` rows of ``frame``."""
        ordered = frame.select(
            (key / F.lit(KEY_SCALE)).alias("key"), "id", *(f"v{j}" for j in range(len(values)))
        )
        rows: list[dict[str, Any]] = (
            ordered.orderBy("key", "id").limit(spec.sample_size).toArrow().to_pylist()
        )
        return rows

    bound = _key_bound(spec.sample_size, n_rows)
    rows = None
    if bound is not None:  # null keys (null ids) sort first: kept as candidates
        prefixed = F.col("__prefix")
        rows = pick(keyed.where(prefixed.isNull() | (prefixed < F.lit(bound))))
    if rows is None or len(rows) < spec.sample_size:
        rows = pick(keyed)
    dtypes = spec.sample_dtypes
    return [
        [r["key"], r["id"], *(_sample_value(r[f"v{j}"], d) for j, d in enumerate(dtypes))]
        for r in rows
    ]


def summarize_dataframe(df: Any, spec: SummarySpec, start_us: int, end_us: int) -> WindowSummary:
    """The summary of the rows of Spark DataFrame ``df`` timed in ``[start_us, end_us)``.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The prediction log, with the schema's column names (columns it lacks are left out).
    spec : SummarySpec
    start_us, end_us : int
        The window, epoch microseconds (the timestamp column may be a timestamp or epoch µs).

    Returns
    -------
    WindowSummary
    """
    if spec.timestamp not in df.columns or spec.id not in df.columns:
        raise ConfigError(
            f"Spark source: expected the id and timestamp columns {spec.id!r} and "
            f"{spec.timestamp!r}; got columns {df.columns!r}"
        )
    physical = {name: f"c{i}" for i, name in enumerate(df.columns)}
    renamed = df.toDF(*physical.values())
    dtypes = dict(zip(spec.sample_columns, spec.sample_dtypes, strict=True))
    cols = SourceColumns(
        physical={n: p for n, p in physical.items() if n in dtypes},
        dtypes={n: d for n, d in dtypes.items() if n in physical},
    )
    ts = _micros(renamed, physical[spec.timestamp])
    window = renamed.where((ts >= start_us) & (ts < end_us))
    numeric = _numeric_rows(window, spec, cols)
    categorical = _categorical_rows(window, spec, cols)
    sets = _cells(window, spec, cols)
    n_rows = int(sets["total"][0]["n"]) if sets["total"] else 0
    sample = _sample(window, spec, cols, n_rows)
    return assemble(numeric, categorical, sets, sample, cols, spec, "spark")


class SparkExecutor:
    """Summaries of one model's windows computed by Spark over its ``--source``."""

    name = "spark"

    def __init__(self, source: str, *, session: Any = None) -> None:
        parse_source(source)
        self.source = source
        self._session = session

    def session(self) -> Any:
        """The Spark session (created on first use from ``DRIFTWARDEN_SPARK_MASTER``)."""
        if self._session is None:
            self._session = spark_session()
        return self._session

    def dataframe(self) -> Any:
        """The source as a Spark DataFrame."""
        return read_source(self.session(), self.source)

    def summarize(self, spec: SummarySpec, start: datetime, end: datetime) -> WindowSummary:
        """The summary of the source's rows in ``[start, end)``."""
        from monitors.windows import to_micros

        return summarize_dataframe(self.dataframe(), spec, to_micros(start), to_micros(end))


def window_counts(
    df: Any, *, timestamp: str, label: str | None, size: str
) -> dict[datetime, tuple[int, int]]:
    """Rows and labelled rows per window of ``size`` that holds rows (one Spark job).

    Windows are those of :mod:`monitors.pipeline.windows` (UTC, ISO weeks from Monday,
    months from January 1970).
    """
    from pyspark.sql import functions as F

    from monitors.pipeline.windows import window_start
    from monitors.windows import to_micros
    from storage.registry import WINDOW_RE, validate_window

    validate_window(size)
    match = WINDOW_RE.match(size)
    assert match is not None
    n, unit = int(match.group(1)), match.group(2)
    physical = {name: f"c{i}" for i, name in enumerate(df.columns)}
    renamed = df.toDF(*physical.values())
    ts = _micros(renamed, physical[timestamp])
    if unit == "mo":
        bucket = F.unix_micros(F.date_trunc("month", F.timestamp_micros(ts)))
    else:
        step = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}[unit] * n * 1_000_000
        monday = unit == "w" or (unit == "d" and n % 7 == 0)
        origin = to_micros("1970-01-05T00:00:00Z") if monday else 0
        bucket = F.floor((ts - F.lit(origin)) / F.lit(step)).cast("long") * step + origin
    has_label = _present(renamed, physical[label]) if label in physical else F.lit(False)
    grouped = renamed.groupBy(bucket.alias("b")).agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.when(has_label, 1).otherwise(0)).alias("lab")
    )
    out: dict[datetime, tuple[int, int]] = {}
    for row in grouped.toArrow().to_pylist():
        at = _from_micros(row["b"])
        start = window_start(at, size)
        rows, labels = out.get(start, (0, 0))
        out[start] = (rows + int(row["n"]), labels + int(row["lab"] or 0))
    return out


def _from_micros(value: int) -> datetime:
    """An aware UTC datetime from epoch microseconds."""
    from datetime import UTC, timedelta

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))

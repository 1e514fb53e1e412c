"""Window summaries: what the analyzers need from one window, small, typed and mergeable.

A :class:`WindowSummary` holds the *sufficient statistics* of one window of one model,
counted on bins fixed by the reference (a :class:`SummarySpec`, built once per reference
version by :func:`monitors.summaries.spec.build_spec`):

* per numeric column: the count, minimum and maximum of the window's values in each fine
  bin of the reference (up to ``fine_bins`` = 2,000 reference quantiles plus point-mass
  bins, which refine the drift analyzer's default bins), and the missing, +-infinite and
  type-mismatched counts, the finite count, minimum, maximum, sum and sum of squares;
* per categorical or boolean column: the exact count of every reference category, the
  ``top_k`` most frequent unseen categories with their counts, and the exact total (and
  number) of the other unseen ones;
* fairness cells (sensitive values x label x prediction) and, for regression, per
  sensitive group the sums behind the group metrics;
* confusion cells (label x prediction) or regression error sums;
* score histograms per label (binary classifiers with a score column);
* a latency histogram;
* a uniform random sample of at most ``sample_size`` rows, chosen by a per-row random key
  (a salted hash of the prediction id), so that merging keeps the ``sample_size`` smallest
  keys and is the same sample as summarising the union.

Everything is a frozen dataclass of plain tuples and scalars; :meth:`WindowSummary.to_json`
and :meth:`WindowSummary.from_json` round-trip through JSON (floats are finite; ``None``
marks a missing value). A summary names the spec it was counted on (``spec_sha256``) and
the reference version; :func:`monitors.summaries.merge.merge` refuses to mix specs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from monitors.errors import ConfigError

#: Version of the summary layout; bumped when a field changes meaning.
FORMAT_VERSION = 1

Value = str | int | float | bool | None
"""A category, label, prediction or sensitive value (``None``: missing)."""

T = TypeVar("T")


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True, slots=True)
class NumericSpec:
    """The fine bins of one numeric column: ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""

    column: str
    edges: tuple[float, ...]
    dtype: str
    """The schema dtype (``float``, ``int``)."""


@dataclass(frozen=True, slots=True)
class CategoricalSpec:
    """The reference categories of one categorical or boolean column."""

    column: str
    categories: tuple[Value, ...]
    dtype: str
    """The schema dtype (``string``, ``bool``, ``int``, ``float``)."""


@dataclass(frozen=True)
class SummarySpec:
    """What a window summary counts, fixed by one reference version.

    Built by :func:`monitors.summaries.spec.build_spec`; executors (in-memory, PostgreSQL,
    Spark) count exactly these bins and cells.
    """

    reference_version: int
    task: str
    id: str
    timestamp: str
    prediction: str
    label: str | None
    score: str | None
    latency: str | None
    sensitive: tuple[str, ...]
    classes: tuple[Value, ...]
    positive_class: Value
    numeric: tuple[NumericSpec, ...]
    categorical: tuple[CategoricalSpec, ...]
    score_edges: tuple[float, ...]
    """Fine bins of the per-label score histograms (the score column's fine bins refined by
    the calibration bins' inner edges, so the expected calibration error is exact)."""
    latency_edges: tuple[float, ...]
    label_shift: float
    """Regression: label sums are of ``label - label_shift`` (the reference label's mean, or
    the prediction's without a label), so that R² keeps its precision; the per-group sums
    of squares of predictions are of ``prediction - label_shift`` too."""
    top_k: int
    """Unseen categories kept with their own count per column (the rest: one total)."""
    sample_size: int
    sample_salt: str
    sample_columns: tuple[str, ...]
    sample_dtypes: tuple[str, ...]
    """Schema dtype of each sample column."""
    fine_bins: int

    def numeric_spec(self, column: str) -> NumericSpec | None:
        """The numeric bins of ``column``, if it has any."""
        return next((s for s in self.numeric if s.column == column), None)

    def categorical_spec(self, column: str) -> CategoricalSpec | None:
        """The reference categories of ``column``, if it is counted by category."""
        return next((s for s in self.categorical if s.column == column), None)

    @functools.cached_property
    def sha256(self) -> str:
        """Hash of the canonical JSON of the spec: summaries on equal specs merge."""
        text = json.dumps(to_json(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- window
REGRESSION_GROUP_SUMS = (
    "sum_prediction",
    "n_labelled",
    "sum_abs_error",
    "sum_prediction_centred_sq",
    "sum_abs_error_sq",
)
"""The per-group sums of a regression model's fairness cells (rows with a prediction);
the squares of predictions are of ``prediction - label_shift`` (no cancellation when the
predictions' mean is large against their spread)."""


@dataclass(frozen=True, slots=True)
class NumericSummary:
    """One numeric column of a window on its fine bins (only non-empty bins are kept)."""

    column: str
    n_missing: int
    """Null or NaN."""
    n_posinf: int
    n_neginf: int
    n_type_mismatch: int
    """Values that do not fit the schema dtype (a non-integral number in an ``int`` column)."""
    n: int
    """Finite values."""
    min: float | None
    max: float | None
    sum: float
    sum_sq: float
    bins: tuple[int, ...]
    """Index of each non-empty bin: ``i`` is ``[e_{i-1}, e_i)`` (``0``: below ``e0``)."""
    counts: tuple[int, ...]
    bin_min: tuple[float, ...]
    bin_max: tuple[float, ...]
    dtype_name: str
    """The pandas dtype the row path reads this column as (quality details)."""


@dataclass(frozen=True, slots=True)
class CategoricalSummary:
    """One categorical or boolean column of a window."""

    column: str
    n_missing: int
    n_type_mismatch: int
    n_known: int
    """The first ``n_known`` values are reference categories (in :func:`cell_order`)."""
    values: tuple[Value, ...]
    """Every reference category seen, then up to ``top_k`` unseen ones (by count, then text)."""
    counts: tuple[int, ...]
    other_count: int
    """Rows with an unseen category beyond the ``top_k`` listed ones."""
    other_distinct: int
    """How many such categories (a lower bound once shards that overflowed are merged)."""
    dtype_name: str


@dataclass(frozen=True, slots=True)
class Cells:
    """Sparse count table: ``keys[i]`` (a tuple of values) occurs ``counts[i]`` times.

    ``sums[i]`` holds extra per-cell sums when the table carries them (regression fairness:
    :data:`REGRESSION_GROUP_SUMS`; summaries written before the squares were added hold
    the first three).
    """

    keys: tuple[tuple[Value, ...], ...]
    counts: tuple[int, ...]
    sums: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class RegressionErrors:
    """Sums over rows with a label and a prediction (regression performance)."""

    n: int
    sum_abs: float
    sum_sq: float
    sum_label: float
    """Of ``label - label_shift``."""
    sum_label_sq: float
    sum_ape: float
    """Of ``|label - prediction| / max(|label|, eps)`` (scikit-learn's MAPE terms)."""


@dataclass(frozen=True, slots=True)
class ScoreHistogram:
    """Scores of the labelled rows of one label value, on the spec's score bins."""

    label: Value
    n: int
    sum: float
    sum_sq: float
    sum_log: float
    """Of ``log(clip(p, eps, 1 - eps))``."""
    sum_log1m: float
    """Of ``log(clip(1 - p, eps, 1 - eps))``."""
    bins: tuple[int, ...]
    counts: tuple[int, ...]
    sums: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Sample:
    """A uniform random sample of the window's rows: those with the smallest keys.

    ``keys`` are in ``[0, 1)``, ascending; ``columns`` are the spec's sample columns and
    ``values[j]`` the values of column ``j`` (timestamps as epoch microseconds).
    """

    keys: tuple[float, ...]
    ids: tuple[str, ...]
    values: tuple[tuple[Value, ...], ...]
    n_seen: int
    """Rows the sample was drawn from (the window's rows)."""
    capacity: int
    """The spec's ``sample_size``."""

    @property
    def complete(self) -> bool:
        """Whether the sample holds every row of the window."""
        return len(self.keys) == self.n_seen


def cell_order(key: tuple[Value, ...]) -> tuple[tuple[int, str, str], ...]:
    """A total order on keys of mixed-type values (``None`` last)."""
    return tuple((1, "", "") if v is None else (0, type(v).__name__, repr(v)) for v in key)


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """Sufficient statistics of one window of one model (see the module docstring)."""

    format_version: int
    spec_sha256: str
    reference_version: int
    executor: str
    """Who counted it: ``memory``, ``postgres``, ``spark`` or ``merged``."""
    top_k: int
    """Unseen categories listed per column (the spec's ``top_k``)."""
    n_rows: int
    n_labelled: int
    numeric: tuple[NumericSummary, ...]
    categorical: tuple[CategoricalSummary, ...]
    fairness: Cells
    """Classification: keys ``(*sensitive, label, prediction)`` over rows with a
    prediction. Regression: keys ``(*sensitive,)`` with sums
    ``(sum_prediction, n_labelled, sum_abs_error)``."""
    n_missing_prediction: int
    confusion: Cells
    """Classification: keys ``(label, prediction)``, ``None`` where missing, every row."""
    regression: RegressionErrors | None
    scores: tuple[ScoreHistogram, ...]
    latency: NumericSummary | None
    sample: Sample

    def numeric_column(self, name: str) -> NumericSummary | None:
        """The numeric summary of ``name``, if counted."""
        return next((c for c in self.numeric if c.column == name), None)

    def categorical_column(self, name: str) -> CategoricalSummary | None:
        """The categorical summary of ``name``, if counted."""
        return next((c for c in self.categorical if c.column == name), None)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (dicts, lists, finite floats, ``None``)."""
        data = to_json(self)
        assert isinstance(data, dict)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WindowSummary:
        """Rebuild a summary from :meth:`to_json` output.

        Raises
        ------
        ConfigError
            If the data is of another format version or does not fit the layout.
        """
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"window summary format_version: expected {FORMAT_VERSION}; got {version!r}"
            )
        return from_json(cls, data)


# --------------------------------------------------------------------------- JSON codec
_PLAIN = frozenset({str, int, bool, type(None)})
"""Types written to JSON as they are."""


def to_json(value: Any) -> Any:
    """A dataclass tree as JSON data (tuples become lists, non-finite floats ``None``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        out = []
        for v in value:  # inline the scalar cases: a sample holds ~10^5-10^6 values
            kind = type(v)
            if kind is float:
                out.append(v if math.isfinite(v) else None)
            elif kind in _PLAIN:
                out.append(v)
            else:
                out.append(to_json(v))
        return out
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return to_json(value.item())
    return value


def _decode(hint: Any, value: Any, where: str) -> Any:
    """``value`` decoded as type ``hint`` (dataclasses, tuples, unions, scalars)."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"window summary {where}: expected a list; got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            if args[0] is float:  # fast paths for long runs of scalars (samples, bins)
                return tuple(math.nan if v is None else float(v) for v in value)
            if args[0] in (int, str, Value):
                return tuple(value)
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        dataclass_args = [a for a in args if dataclasses.is_dataclass(a)]
        if dataclass_args:
            return _decode(dataclass_args[0], value, where)
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"window summary {where}: expected an object; got {value!r}")
        return from_json(hint, value, where)  # type: ignore[arg-type]
    if hint is float:
        return math.nan if value is None else float(value)
    return value


def from_json(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from JSON data written by :func:`to_json`."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is not dataclasses.MISSING:
                continue
            raise ConfigError(f"window summary {where or cls.__name__}: missing key {f.name!r}")
        kwargs[f.name] = _decode(hints[f.name], data[f.name], f"{where}.{f.name}".lstrip("."))
    return cls(**kwargs)

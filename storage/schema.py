"""Model schema: which column plays which role, and with which type.

A :class:`ModelSchema` is the contract between a model service and driftwarden.
Each column has a *role* (``id``, ``timestamp``, ``feature``, ``prediction``,
``score``, ``label``, ``sensitive``, ``latency_ms``) and a storage *dtype*
(``float``, ``int``, ``bool``, ``string``, ``timestamp``). The analysis *kind*
(numeric, categorical, boolean) follows from the dtype unless a numeric column is
declared categorical.

Rules:

* exactly one ``id``, ``timestamp`` and ``prediction`` column; at most one
  ``score``, ``label`` and ``latency_ms``;
* for classification tasks, ``prediction`` and ``label`` are categorical and the
  schema lists the known ``classes``; ``score`` is the probability of
  ``positive_class`` (binary classification);
* ``prediction_id`` values are stored as strings; timestamps as UTC;
* ``labels_with_predictions`` says whether logged rows carry their label (else labels
  arrive later by backfill, and a batch without them is normal).

:class:`IngestPolicy` is what ingest accepts for a model (plausible timestamps, text that
counts as missing); it is stored with the model, beside the schema (docs/ingest.md).

The schema is pure data (pydantic) so that it serialises, hashes and is shared by
:mod:`storage` (to build tables) and :mod:`monitors` (to validate and analyse).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from storage.errors import SchemaError

MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
MAX_COLUMN_NAME = 1000


class Task(StrEnum):
    """What the model predicts."""

    BINARY = "binary_classification"
    MULTICLASS = "multiclass_classification"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION


class Role(StrEnum):
    """The part a column plays in a prediction log."""

    ID = "id"
    TIMESTAMP = "timestamp"
    FEATURE = "feature"
    PREDICTION = "prediction"
    SCORE = "score"
    LABEL = "label"
    SENSITIVE = "sensitive"
    LATENCY = "latency_ms"


class DType(StrEnum):
    """How a column is stored."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"
    TIMESTAMP = "timestamp"


class Kind(StrEnum):
    """How a column is analysed."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"


Scalar = str | int | bool | float


class ColumnSpec(BaseModel):
    """One column of a model's prediction log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: Role
    dtype: DType
    categorical: bool = False

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("column name must not be empty")
        if len(value) > MAX_COLUMN_NAME:
            raise ValueError(f"column name longer than {MAX_COLUMN_NAME} characters")
        if "\x00" in value:
            raise ValueError("column name must not contain a NUL character")
        return value

    @property
    def kind(self) -> Kind:
        """Analysis kind: categorical, boolean or numeric."""
        if self.dtype is DType.BOOL:
            return Kind.BOOLEAN
        if self.categorical or self.dtype is DType.STRING:
            return Kind.CATEGORICAL
        return Kind.NUMERIC


class ModelSchema(BaseModel):
    """Columns of one model's prediction log, with their roles and types.

    Examples
    --------
    >>> s = ModelSchema(task="regression", columns=[
    ...     ColumnSpec(name="id", role="id", dtype="string"),
    ...     ColumnSpec(name="ts", role="timestamp", dtype="timestamp"),
    ...     ColumnSpec(name="x", role="feature", dtype="float"),
    ...     ColumnSpec(name="y_hat", role="prediction", dtype="float")])
    >>> [c.name for c in s.features]
    ['x']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task
    columns: tuple[ColumnSpec, ...]
    classes: tuple[Scalar, ...] | None = None
    positive_class: Scalar | None = None
    #: labels are sent in the same rows as the predictions (else they come later, by
    #: ``labels`` backfill, and a logged batch without them is normal)
    labels_with_predictions: bool = False

    @model_validator(mode="after")
    def _check(self) -> ModelSchema:
        names = [c.name for c in self.columns]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"column {name!r} appears twice in the schema")
            seen.add(name)
        for role, need_one in [
            (Role.ID, True),
            (Role.TIMESTAMP, True),
            (Role.PREDICTION, True),
            (Role.SCORE, False),
            (Role.LABEL, False),
            (Role.LATENCY, False),
        ]:
            found = [c for c in self.columns if c.role is role]
            if need_one and len(found) != 1:
                raise ValueError(
                    f"the schema needs exactly one {role.value!r} column; got {len(found)}"
                )
            if not need_one and len(found) > 1:
                raise ValueError(
                    f"the schema allows at most one {role.value!r} column; got {len(found)}"
                )
        if self.timestamp.dtype is not DType.TIMESTAMP:
            raise ValueError(
                f"timestamp column {self.timestamp.name!r} must have dtype 'timestamp'"
            )
        if self.id.dtype is not DType.STRING:
            raise ValueError(f"id column {self.id.name!r} must have dtype 'string'")
        for col in self.columns:
            if col.dtype is DType.TIMESTAMP and col.role is not Role.TIMESTAMP:
                raise ValueError(
                    f"column {col.name!r}: only the timestamp column may have dtype 'timestamp'"
                )
        if self.score is not None and self.score.dtype is not DType.FLOAT:
            raise ValueError(f"score column {self.score.name!r} must have dtype 'float'")
        if self.latency is not None and self.latency.dtype not in (DType.FLOAT, DType.INT):
            raise ValueError(f"latency column {self.latency.name!r} must be numeric")
        if self.task is Task.REGRESSION:
            for col in [c for c in (self.prediction, self.label) if c is not None]:
                if col.dtype not in (DType.FLOAT, DType.INT):
                    raise ValueError(
                        f"regression column {col.name!r} must be numeric; got {col.dtype.value!r}"
                    )
        else:
            if self.classes is not None and len(self.classes) < 2:
                raise ValueError("a classification model needs at least two classes")
            if self.task is Task.BINARY and self.classes is not None and len(self.classes) != 2:
                raise ValueError(
                    f"binary_classification needs exactly two classes; got {list(self.classes)!r}"
                )
            pos, classes = self.positive_class, self.classes
            if pos is not None and classes is not None and pos not in classes:
                raise ValueError(
                    f"positive_class {pos!r} is not one of the classes {list(classes)!r}"
                )
        return self

    # -- lookups -------------------------------------------------------------
    def _one(self, role: Role) -> ColumnSpec | None:
        return next((c for c in self.columns if c.role is role), None)

    @property
    def id(self) -> ColumnSpec:
        col = self._one(Role.ID)
        assert col is not None
        return col

    @property
    def timestamp(self) -> ColumnSpec:
        col = self._one(Role.TIMESTAMP)
        assert col is not None
        return col

    @property
    def prediction(self) -> ColumnSpec:
        col = self._one(Role.PREDICTION)
        assert col is not None
        return col

    @property
    def score(self) -> ColumnSpec | None:
        return self._one(Role.SCORE)

    @property
    def label(self) -> ColumnSpec | None:
        return self._one(Role.LABEL)

    @property
    def latency(self) -> ColumnSpec | None:
        return self._one(Role.LATENCY)

    @property
    def features(self) -> list[ColumnSpec]:
        """Feature columns in schema order."""
        return [c for c in self.columns if c.role is Role.FEATURE]

    @property
    def sensitive(self) -> list[ColumnSpec]:
        """Sensitive-attribute columns in schema order."""
        return [c for c in self.columns if c.role is Role.SENSITIVE]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``; :class:`SchemaError` if there is none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise SchemaError(f"column {name!r} is not in the schema")

    def kind_of(self, name: str) -> Kind:
        """Analysis kind of a column; prediction and label of classifiers are categorical."""
        col = self.column(name)
        if self.task.is_classification and col.role in (Role.PREDICTION, Role.LABEL):
            return Kind.CATEGORICAL
        return col.kind

    def drift_columns(self) -> list[ColumnSpec]:
        """Columns checked for drift: features, sensitive attributes, prediction, score, label."""
        out = list(self.features) + list(self.sensitive) + [self.prediction]
        for col in (self.score, self.label):
            if col is not None:
                out.append(col)
        return out

    def with_column(self, spec: ColumnSpec) -> ModelSchema:
        """A copy with one more column (schema evolution)."""
        if spec.name in self.names:
            raise SchemaError(f"column {spec.name!r} is already in the schema")
        return self.model_copy(update={"columns": (*self.columns, spec)})


#: Text that counts as a missing value in every column but the id (pandas' default list of
#: ``read_csv`` without the empty string, which is always missing). Documented in docs/ingest.md.
DEFAULT_MISSING_VALUES: tuple[str, ...] = (
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)


class IngestPolicy(BaseModel):
    """What ingest accepts for one model (stored with the model; defaults documented here).

    Attributes
    ----------
    min_timestamp
        Rows timed before this are quarantined as implausible (default 2000-01-01 UTC).
    max_future
        Rows timed more than this after the moment of ingest are quarantined (default 1 day).
    missing_values
        Text values (compared after stripping blanks) that are stored as missing in every
        column but the id, and counted per column as ``coerced_to_missing``. A blank value
        is always missing; an id is never compared with this list (``NA`` is a valid id).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_timestamp: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_future: timedelta = timedelta(days=1)
    missing_values: tuple[str, ...] = DEFAULT_MISSING_VALUES

    @field_validator("min_timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("max_future")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError(f"max_future must not be negative; got {value}")
        return value


def validate_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name; else raise :class:`SchemaError`."""
    if not isinstance(name, str) or not MODEL_NAME_RE.match(name):
        raise SchemaError(
            f"model name {name!r} is invalid: expected 1-128 characters from letters, digits, "
            "'_', '.', '-', starting with a letter or digit"
        )
    return name


def dtype_of_series(series: pd.Series, *, name: str) -> DType:
    """Infer a storage dtype from a pandas Series."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return DType.BOOL
    if pd.api.types.is_integer_dtype(series.dtype):
        return DType.INT
    if pd.api.types.is_float_dtype(series.dtype):
        return DType.FLOAT
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return DType.TIMESTAMP
    if isinstance(series.dtype, pd.CategoricalDtype):
        return dtype_of_series(pd.Series(series.cat.categories), name=name)
    if pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype):
        non_null = series.dropna()
        if len(non_null) and non_null.map(lambda v: isinstance(v, bool)).all():
            return DType.BOOL
        return DType.STRING
    raise SchemaError(f"column {name!r}: cannot infer a type from dtype {series.dtype}")


def _python_scalar(value: Any) -> Scalar:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def infer_schema(
    frame: pd.DataFrame,
    *,
    task: Task | str,
    id: str,
    timestamp: str,
    prediction: str,
    score: str | None = None,
    label: str | None = None,
    sensitive: Sequence[str] = (),
    categorical: Iterable[str] = (),
    latency_ms: str | None = None,
    features: Sequence[str] | None = None,
    positive_class: Scalar | None = None,
    labels_with_predictions: bool = False,
) -> ModelSchema:
    """Infer a :class:`ModelSchema` from a reference DataFrame with the roles named.

    Every column not given a role is a feature (or only ``features`` if given).
    Classification classes are the sorted union of the prediction and label values;
    the positive class defaults to the last of them (``1``, ``True``, ``"yes"``).

    Raises
    ------
    SchemaError
        If a named column is missing or a role is inconsistent.
    """
    task = Task(task)
    named = {"id": id, "timestamp": timestamp, "prediction": prediction}
    for role_name, col in [("score", score), ("label", label), ("latency_ms", latency_ms)]:
        if col is not None:
            named[role_name] = col
    categorical = set(categorical)
    features = _feature_columns(frame, named.values(), sensitive, categorical, features)
    specs: list[ColumnSpec] = [
        ColumnSpec(name=id, role=Role.ID, dtype=DType.STRING),
        ColumnSpec(name=timestamp, role=Role.TIMESTAMP, dtype=DType.TIMESTAMP),
        *_input_specs(frame, features, sensitive, categorical),
    ]
    roles: list[tuple[Role, str | None]] = [
        (Role.PREDICTION, prediction),
        (Role.SCORE, score),
        (Role.LABEL, label),
        (Role.LATENCY, latency_ms),
    ]
    specs.extend(_output_specs(frame, task, roles))
    classes = _classes(frame, task, prediction, label)
    if positive_class is None and task is Task.BINARY and classes:
        positive_class = classes[-1]
    try:
        return ModelSchema(
            task=task,
            columns=tuple(specs),
            classes=classes,
            positive_class=positive_class,
            labels_with_predictions=labels_with_predictions,
        )
    except ValueError as exc:
        raise SchemaError(str(exc)) from exc


def _feature_columns(
    frame: pd.DataFrame,
    named: Iterable[str],
    sensitive: Sequence[str],
    categorical: set[str],
    features: Sequence[str] | None,
) -> Sequence[str]:
    """The feature columns, after checking that every named column is in ``frame``."""
    named = list(named)
    missing = [c for c in [*named, *sensitive, *categorical] if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"columns {missing!r} are not in the reference data (has {list(frame.columns)!r})"
        )
    taken = set(named) | set(sensitive)
    if features is None:
        return [c for c in frame.columns if c not in taken]
    absent = [c for c in features if c not in frame.columns]
    if absent:
        raise SchemaError(f"feature columns {absent!r} are not in the reference data")
    return features


def _input_specs(
    frame: pd.DataFrame, features: Sequence[str], sensitive: Sequence[str], categorical: set[str]
) -> list[ColumnSpec]:
    """Column specs of the feature and sensitive columns, in that order."""
    specs: list[ColumnSpec] = []
    for name in features:
        dtype = dtype_of_series(frame[name], name=name)
        if dtype is DType.TIMESTAMP:
            raise SchemaError(
                f"feature {name!r} is a timestamp; features must be numeric, boolean or categorical"
            )
        specs.append(
            ColumnSpec(name=name, role=Role.FEATURE, dtype=dtype, categorical=name in categorical)
        )
    for name in sensitive:
        dtype = dtype_of_series(frame[name], name=name)
        specs.append(ColumnSpec(name=name, role=Role.SENSITIVE, dtype=dtype, categorical=True))
    return specs


def _output_specs(
    frame: pd.DataFrame, task: Task, roles: Sequence[tuple[Role, str | None]]
) -> list[ColumnSpec]:
    """Column specs of the prediction, score, label and latency columns that are named."""
    specs: list[ColumnSpec] = []
    for role, role_column in roles:
        if role_column is None:
            continue
        name = role_column
        dtype = dtype_of_series(frame[name], name=name)
        if role is Role.SCORE:
            dtype = DType.FLOAT
        if (
            role in (Role.PREDICTION, Role.LABEL)
            and not task.is_classification
            and dtype is DType.INT
        ):
            dtype = DType.FLOAT
        specs.append(
            ColumnSpec(
                name=name,
                role=role,
                dtype=dtype,
                categorical=task.is_classification and role in (Role.PREDICTION, Role.LABEL),
            )
        )
    return specs


def _classes(
    frame: pd.DataFrame, task: Task, prediction: str, label: str | None
) -> tuple[Scalar, ...] | None:
    """Sorted distinct prediction and label values of a classifier; ``None`` for regression."""
    if not task.is_classification:
        return None
    values = pd.concat([frame[prediction]] + ([frame[label]] if label else [])).dropna().unique()
    return tuple(sorted((_python_scalar(v) for v in values), key=lambda v: (str(type(v)), v)))

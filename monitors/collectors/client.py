"""The Python SDK: register models, log predictions and labels, load windows.

Examples
--------
>>> import pandas as pd, tempfile, os
>>> from monitors.collectors import Client
>>> url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "dw.db")
>>> client = Client(url)
>>> ref = pd.DataFrame({"id": ["a", "b", "c"], "ts": ["2024-01-01T00:00:00Z"] * 3,
...                     "x": [1.0, 2.0, 3.0], "y": [0, 1, 1]})
>>> ref["ts"] = pd.to_datetime(ref["ts"])
>>> _ = client.register_model("m", task="binary_classification", reference=ref,
...                           id="id", timestamp="ts", prediction="y")
>>> client.log("m", ref).stored
3
>>> client.log("m", ref).already_present
3
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from monitors import windows
from monitors.collectors.ingest import IngestResult, LabelResult, ingest_labels, ingest_predictions
from monitors.collectors.validate import NewColumns
from monitors.errors import IngestError
from storage.engine import checkpoint_sqlite, get_engine, session_scope
from storage.registry import (
    add_columns,
    create_model,
    get_model,
    ingest_policy,
    list_models,
    model_schema,
    reference_version,
    save_artifact,
    set_reference,
    update_model,
)
from storage.schema import ColumnSpec, IngestPolicy, ModelSchema, Task, infer_schema

ScoringFunction = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class ModelInfo:
    """A registered model as the SDK shows it."""

    name: str
    task: str
    window: str
    schema: ModelSchema
    reference_version: int | None
    retention_days: int | None
    config: dict[str, Any]
    ingest_policy: IngestPolicy = field(default_factory=IngestPolicy)


def _policy(policy: IngestPolicy | Mapping[str, Any] | None) -> IngestPolicy | None:
    """An ingest policy from a policy or a mapping of overrides; a bad key is a one-line error."""
    if policy is None or isinstance(policy, IngestPolicy):
        return policy
    try:
        return IngestPolicy.model_validate(dict(policy))
    except ValueError as exc:
        raise IngestError(f"invalid ingest policy: {exc}".replace("\n", " ")) from exc


def _frame(data: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame.from_records(list(data))


class Client:
    """Entry point for model services and ML engineers.

    Parameters
    ----------
    database_url
        SQLAlchemy URL; default ``DRIFTWARDEN_DATABASE_URL`` or ``sqlite:///driftwarden.db``.
    """

    def __init__(self, database_url: str | None = None) -> None:
        self.url = database_url
        self.engine = get_engine(database_url)
        self._scorers: dict[str, ScoringFunction] = {}
        self._warned_label: set[str] = set()

    # -- registry ------------------------------------------------------------
    def register_model(
        self,
        name: str,
        *,
        task: Task | str,
        schema: ModelSchema | None = None,
        reference: pd.DataFrame | None = None,
        id: str | None = None,
        timestamp: str | None = None,
        prediction: str | None = None,
        score: str | None = None,
        label: str | None = None,
        sensitive: Sequence[str] = (),
        categorical: Sequence[str] = (),
        latency_ms: str | None = None,
        features: Sequence[str] | None = None,
        positive_class: Any = None,
        window: str = "1d",
        config: Mapping[str, Any] | None = None,
        retention_days: int | None = None,
        labels_with_predictions: bool = False,
        ingest_policy: IngestPolicy | Mapping[str, Any] | None = None,
    ) -> ModelInfo:
        """Register a model with an explicit schema, or one inferred from ``reference``.

        ``labels_with_predictions`` says that logged rows carry their label (else labels
        come later, by :meth:`log_labels`). ``ingest_policy`` overrides what ingest
        accepts (plausible timestamps, missing-value text; docs/ingest.md).

        Raises
        ------
        SchemaError
            If the schema cannot be built; ``DuplicateModelError`` if the name is taken.
        """
        if schema is None:
            if reference is None or id is None or timestamp is None or prediction is None:
                raise IngestError(
                    "register_model needs either schema= or reference= with id=, timestamp= "
                    "and prediction= naming its columns"
                )
            schema = infer_schema(
                reference,
                task=task,
                id=id,
                timestamp=timestamp,
                prediction=prediction,
                score=score,
                label=label,
                sensitive=sensitive,
                categorical=categorical,
                latency_ms=latency_ms,
                features=features,
                positive_class=positive_class,
                labels_with_predictions=labels_with_predictions,
            )
        elif labels_with_predictions:
            schema = schema.model_copy(update={"labels_with_predictions": True})
        checked = self._check_config(config)
        policy = _policy(ingest_policy)
        with session_scope(self.engine) as session:
            model = create_model(
                session,
                name,
                schema,
                window=window,
                config=checked,
                retention_days=retention_days,
                policy=policy,
            )
            if reference is not None:
                frame = self._reference_frame(reference, schema, policy or IngestPolicy())
                set_reference(session, model, frame)
        return self.model(name)

    @staticmethod
    def _check_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
        if not config:
            return {}
        from monitors.config import MonitorConfig, load_config

        parsed: MonitorConfig = load_config(dict(config))
        return parsed.model_dump(mode="json", exclude_defaults=True)

    @staticmethod
    def _reference_frame(
        frame: pd.DataFrame, schema: ModelSchema, policy: IngestPolicy
    ) -> pd.DataFrame:
        """The reference validated like logged rows (any time allowed), in storage form."""
        from monitors.collectors.validate import validate_predictions

        validated = validate_predictions(
            frame, schema, on_new_columns="quarantine", missing_values=policy.missing_values
        )
        if validated.problems:
            shown = "; ".join(str(p) for p in validated.problems[:5])
            raise IngestError(f"the reference data has invalid rows: {shown}")
        good = validated.good
        ts = schema.timestamp.name
        good[ts] = pd.to_datetime(good[ts].to_numpy(dtype=np.int64), unit="us", utc=True)
        return good

    def set_reference(self, name: str, frame: pd.DataFrame, *, replace: bool = False) -> int:
        """Store a new reference version for a model; returns the version number.

        ``replace=True`` deletes every older version, e.g. one that holds sensitive
        values: pass a frame without them (drop or coarsen the column). On SQLite the
        old bytes are zeroed and the write-ahead log truncated (docs/ingest.md, "Purge").
        """
        with session_scope(self.engine) as session:
            model = get_model(session, name)
            reference = self._reference_frame(frame, model_schema(model), ingest_policy(model))
            version = set_reference(session, model, reference, replace=replace).version
        if replace:
            checkpoint_sqlite(self.engine)
        return version

    def add_columns(self, name: str, columns: Sequence[ColumnSpec]) -> ModelSchema:
        """Schema evolution: add nullable features; a type conflict changes nothing."""
        with session_scope(self.engine) as session:
            model = get_model(session, name)
            add_columns(session, model, columns)
            return model_schema(model)

    def configure(
        self,
        name: str,
        *,
        config: Mapping[str, Any] | None = None,
        window: str | None = None,
        retention_days: int | None = None,
        ingest_policy: IngestPolicy | Mapping[str, Any] | None = None,
    ) -> ModelInfo:
        """Set a model's analysis config (validated), window size, retention or ingest policy.

        ``ingest_policy`` replaces the stored overrides (a mapping such as
        ``{"min_timestamp": "1990-01-01"}``; unnamed settings take their defaults).
        """
        checked = self._check_config(config) if config is not None else None
        with session_scope(self.engine) as session:
            update_model(
                session,
                get_model(session, name),
                config=checked,
                window=window,
                retention_days=retention_days,
                policy=_policy(ingest_policy),
            )
        return self.model(name)

    def set_artifact(self, name: str, artifact: object, *, trusted: Sequence[str] = ()) -> int:
        """Store a scikit-learn model (or skops bytes) for explanations; returns its version."""
        from monitors.artifacts import dump_artifact, load_artifact

        data = artifact if isinstance(artifact, bytes) else dump_artifact(artifact)
        load_artifact(data, trusted=trusted)  # refuse untrusted content up front
        with session_scope(self.engine) as session:
            return save_artifact(session, get_model(session, name), data, trusted=trusted).version

    def set_scoring_function(self, name: str, function: ScoringFunction) -> None:
        """Use an in-process scoring function for explanations (not persisted)."""
        self.model(name)
        self._scorers[name] = function

    def scoring_function(self, name: str) -> ScoringFunction | None:
        return self._scorers.get(name)

    def explain(self, name: str, prediction_id: str) -> Any:
        """SHAP explanation of one logged prediction (``RowExplanation``), or ``None``.

        Uses the scoring function set with :meth:`set_scoring_function`, else the stored
        artifact.
        """
        from monitors.explanations import explain_prediction

        return explain_prediction(self.url, name, prediction_id, scorer=self._scorers.get(name))

    def model(self, name: str) -> ModelInfo:
        with session_scope(self.engine) as session:
            model = get_model(session, name)
            return ModelInfo(
                name=model.name,
                task=model.task,
                window=model.window,
                schema=model_schema(model),
                reference_version=reference_version(session, model),
                retention_days=model.retention_days,
                config=dict(model.config),
                ingest_policy=ingest_policy(model),
            )

    def models(self) -> list[ModelInfo]:
        """Every registered model."""
        with session_scope(self.engine) as session:
            names = [m.name for m in list_models(session)]
        return [self.model(n) for n in names]

    # -- logging ---------------------------------------------------------------
    def log(
        self,
        name: str,
        data: pd.DataFrame | Iterable[Mapping[str, Any]],
        *,
        strict: bool = False,
        on_new_columns: NewColumns | None = None,
        source: str | None = None,
        add_columns: bool = False,
    ) -> IngestResult:
        """Validate and store predictions; re-sending a ``prediction_id`` stores nothing twice.

        Columns not in the schema are ignored and listed in ``ignored_columns`` unless
        ``add_columns=True`` adds them as new nullable features. If the schema says labels
        come with predictions (``labels_with_predictions``) and the label column is
        missing, this warns once per model; otherwise a missing label is expected (labels
        come later through :meth:`log_labels`) and nothing is said.
        """
        result = ingest_predictions(
            [_frame(data)],
            name,
            url=self.url,
            strict=strict,
            on_new_columns=on_new_columns,
            add_columns=add_columns,
            source=source or "sdk",
        )
        if result.label_missing and name not in self._warned_label:
            self._warned_label.add(name)
            warnings.warn(
                f"model {name!r}: the logged rows have no label column although the schema "
                "says labels come with predictions (labels_with_predictions=True); they are "
                "stored without labels (this warning is shown once per model)",
                UserWarning,
                stacklevel=2,
            )
        return result

    def log_labels(
        self,
        name: str,
        data: pd.DataFrame | Iterable[Mapping[str, Any]],
        *,
        id: str | None = None,
        label: str | None = None,
        strict: bool = False,
    ) -> LabelResult:
        """Backfill labels by ``prediction_id``; unknown ids are reported back."""
        return ingest_labels(
            [_frame(data)],
            name,
            url=self.url,
            id_column=id,
            label_column=label,
            strict=strict,
            source="sdk",
        )

    def load_window(
        self,
        name: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Rows with ``start <= timestamp < end`` as a DataFrame in the schema's dtypes."""
        return windows.load_window(self.url, name, start, end, columns=columns)

    def purge(
        self, name: str, before: datetime | str, *, batch: int = 50_000, vacuum: bool = False
    ) -> int:
        """Delete logged and quarantined rows older than ``before``; metrics and reports stay.

        Returns how many logged rows went. ``vacuum`` also rebuilds the storage so that
        no free space keeps the purged values (slow on big databases; docs/ingest.md).
        """
        return windows.purge_model(self.url, name, before, batch=batch, vacuum=vacuum).rows

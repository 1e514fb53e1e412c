"""The analysis pass's side of performance estimation without labels (CBPE / DLE).

Once per model per pass, :func:`prepare_estimation` fits the estimator on the reference
(like the drift and quality reference profiles), reusing the CBPE calibration stored
with this reference version, or says why there is no estimate. Per window,
:meth:`EstimationStage.records` gives the ``estimated_performance`` records — for every
window, labelled or not, so estimate and realized ``performance`` stand side by side.

**Where the calibration is stored.** The reference row has no JSON field, and a new
column would need a migration, so the calibration is a metric result: analyzer
``estimated_performance``, metric :data:`CALIBRATION_METRIC`, value = the out-of-fold
ECE of the scores as used (``threshold`` = ``poor_calibration_ece``, ``breach`` when the
calibration is poor), details = ``reference_version``, ``fingerprint`` (SHA-256 of the
calibration settings) and ``calibration`` (:meth:`Calibration.to_dict`: plain JSON).
It is stored once per reference version and settings, with the first window analysed
with them (re-emitted whenever that window is re-analysed, so a replacement never
loses it). A later pass finds it and reuses it, so the curve does not change between
passes; a new reference version or new calibration settings fit a new one.
DLE stores nothing: its models are refitted from the reference (deterministic).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from sqlalchemy.orm import Session

from monitors.analyzers.base import BREACH, OK, MetricRecord, finite_or_none
from monitors.analyzers.estimated import (
    ANALYZER,
    Calibration,
    CBPEModel,
    EstimatedConfig,
    Estimator,
    estimate_performance,
    estimated_records,
    estimation_unavailable,
    fit_estimator,
)
from monitors.errors import SchemaError
from storage.models import Model
from storage.queries import metric_values
from storage.schema import ModelSchema

log = logging.getLogger(__name__)

CALIBRATION_METRIC: Final = "estimated_calibration"
"""Metric name of the stored CBPE calibration (analyzer ``estimated_performance``)."""
_CALIBRATION_KEYS: Final = (
    "calibration",
    "calibration_ece_threshold",
    "calibration_bins",
    "calibration_folds",
    "poor_calibration_ece",
    "class_probability_columns",
    "seed",
)


def calibration_fingerprint(config: EstimatedConfig) -> str:
    """SHA-256 of the settings a CBPE calibration depends on.

    Examples
    --------
    >>> calibration_fingerprint(EstimatedConfig()) == calibration_fingerprint(EstimatedConfig())
    True
    >>> calibration_fingerprint(EstimatedConfig(calibration="none")) == calibration_fingerprint(
    ...     EstimatedConfig())
    False
    """
    settings = config.model_dump(mode="json", include=set(_CALIBRATION_KEYS))
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def calibration_record(
    calibration: Calibration, *, config: EstimatedConfig, reference_version: int
) -> MetricRecord:
    """The stored form of a CBPE calibration (see the module docstring)."""
    check = finite_or_none(calibration.check_ece)
    return MetricRecord(
        ANALYZER,
        CALIBRATION_METRIC,
        None,
        None,
        check,
        config.poor_calibration_ece,
        BREACH if calibration.warning else OK,
        {
            "method": "cbpe",
            "reference_version": reference_version,
            "fingerprint": calibration_fingerprint(config),
            "calibrated": calibration.calibrated,
            "reference_ece": finite_or_none(calibration.reference_ece),
            "check_ece": check,
            "calibration_warning": calibration.warning,
            "calibration": calibration.to_dict(),
        },
    )


@dataclass
class EstimationStage:
    """Per-model state of one pass: the fitted estimator, or why there is none."""

    estimator: Estimator | None
    skipped: str | None
    schema: ModelSchema
    calibration: MetricRecord | None = None
    """The calibration record to store (CBPE only)."""
    holder: tuple[pd.Timestamp, pd.Timestamp] | None = None
    """``[start, end)`` of the window already holding the stored calibration."""
    emitted: bool = False

    def records(self, frame: pd.DataFrame) -> list[MetricRecord]:
        """The window's ``estimated_performance`` records (labels, if any, are not read)."""
        if self.estimator is None:
            return []
        try:
            out = estimated_records(estimate_performance(self.estimator, frame))
        except SchemaError as exc:  # a window without the prediction column
            log.warning("estimated performance of a window skipped: %s", exc)
            return []
        if self.calibration is not None and self._holds_calibration(frame):
            out.append(self.calibration)
            self.emitted = True
        return out

    def _holds_calibration(self, frame: pd.DataFrame) -> bool:
        """Whether this window stores the calibration: the first one, or its old holder."""
        if self.holder is None:
            return not self.emitted
        name = self.schema.timestamp.name
        if not len(frame) or name not in frame.columns:
            return False
        first = pd.Timestamp(frame[name].min())
        if first.tzinfo is None:
            first = first.tz_localize("UTC")
        return bool(self.holder[0] <= first < self.holder[1])


def _stored_calibration(
    session: Session, model: Model, *, config: EstimatedConfig, version: int
) -> tuple[Calibration, tuple[pd.Timestamp, pd.Timestamp]] | None:
    """The calibration stored for this reference version and settings, and its window."""
    stored = metric_values(
        session, model=model, metrics=[CALIBRATION_METRIC], analyzer=ANALYZER, details=True
    )
    fingerprint = calibration_fingerprint(config)
    for row in stored.to_dict("records"):
        details: dict[str, Any] = row["details"] or {}
        if details.get("reference_version") != version:
            continue
        if details.get("fingerprint") != fingerprint or not details.get("calibration"):
            continue
        try:
            calibration = Calibration.from_dict(details["calibration"])
        except (SchemaError, KeyError, TypeError, ValueError) as exc:
            log.warning("stored calibration of %r not reused: %s", model.name, exc)
            continue
        return calibration, (pd.Timestamp(row["window_start"]), pd.Timestamp(row["window_end"]))
    return None


def prepare_estimation(
    session: Session,
    model: Model,
    *,
    schema: ModelSchema,
    config: EstimatedConfig,
    reference: pd.DataFrame,
    version: int,
) -> EstimationStage:
    """Fit the estimator of one model on its reference, once per pass.

    Parameters
    ----------
    session : Session
        Reads the calibration stored with this reference version, if any.
    model : Model
    schema : ModelSchema
    config : EstimatedConfig
    reference : pandas.DataFrame
        The reference dataset of ``version`` (with labels).
    version : int
        The reference version.

    Returns
    -------
    EstimationStage
        With ``estimator`` ``None`` and ``skipped`` set to the reason when the schema,
        the config or the reference does not allow an estimate (never raises for that).
    """
    reason = estimation_unavailable(schema, config)
    if not config.enabled:  # the user's choice: nothing to report
        return EstimationStage(None, None, schema)
    if reason is not None:
        return EstimationStage(None, reason, schema)
    found = None
    if schema.task.is_classification:
        found = _stored_calibration(session, model, config=config, version=version)
    try:
        estimator = fit_estimator(
            reference,
            schema=schema,
            config=config,
            calibration=found[0] if found is not None else None,
        )
    except SchemaError as exc:
        if found is None:
            return EstimationStage(None, str(exc), schema)
        # a stored calibration that no longer fits the model: fit a new one
        log.warning("stored calibration of %r not reused: %s", model.name, exc)
        found = None
        try:
            estimator = fit_estimator(reference, schema=schema, config=config)
        except SchemaError as again:
            return EstimationStage(None, str(again), schema)
    stage = EstimationStage(estimator, None, schema)
    if isinstance(estimator, CBPEModel):
        stage.calibration = calibration_record(
            estimator.calibration, config=config, reference_version=version
        )
        stage.holder = found[1] if found is not None else None
    return stage

"""Performance estimated without labels: CBPE for classifiers, DLE for regressors.

Metrics (``analyzer="estimated_performance"``, ``feature=None``), computed for every
window whether or not its labels have arrived, so that they stand beside the realized
ones of the ``performance`` analyzer:

* classification (CBPE, needs a ``score`` column, or
  :attr:`EstimatedConfig.class_probability_columns` for multiclass models):
  ``estimated_accuracy``, ``estimated_precision``, ``estimated_recall``,
  ``estimated_f1``, ``estimated_specificity``, ``estimated_roc_auc`` and an
  ``estimated_confusion_matrix`` record (the expected matrix in the details). Binary
  models score the positive class, multiclass models average one-vs-rest (macro);
* regression (DLE): ``estimated_mae``, ``estimated_rmse``.

Each estimate carries a sampling-error band (``details.ci_low`` / ``ci_high``: the
estimate ± 3 standard deviations of the realized metric over reference chunks of the
window's size) and thresholds (reference-chunk mean ± 3 sd, or fixed in the config)
that give it a status. The method and its assumptions (no concept shift, calibrated
scores) are described in ``docs/estimated-performance.md``.

Use::

    model = fit_estimator(reference, schema=schema, config=config)   # once per reference
    records = estimated_records(estimate_performance(model, window)) # per window

For CBPE only the calibration needs storing with the reference version:
``model.calibration.to_dict()`` is JSON (isotonic thresholds), and
``fit_estimator(..., calibration=Calibration.from_dict(stored))`` reuses it.
"""

from monitors.analyzers.estimated._calibration import Calibration, ClassCalibration, IsotonicCurve
from monitors.analyzers.estimated._cbpe import CBPEModel, estimate_cbpe, fit_cbpe
from monitors.analyzers.estimated._config import (
    CBPE_METRICS,
    DLE_METRICS,
    ESTIMATED_METRICS,
    LOWER_IS_BETTER,
    EstimatedConfig,
    EstimatedThreshold,
)
from monitors.analyzers.estimated._dle import DLEModel, estimate_dle, fit_dle
from monitors.analyzers.estimated._estimate import (
    ANALYZER,
    Estimator,
    estimate_performance,
    estimated_records,
    estimation_unavailable,
    fit_estimator,
)
from monitors.analyzers.estimated._metrics import (
    cm_metrics,
    expected_confusion_matrix,
    expected_roc_auc,
)
from monitors.analyzers.estimated._types import EstimatedMetric, EstimatedPerformance

__all__ = [
    "ANALYZER",
    "CBPE_METRICS",
    "DLE_METRICS",
    "ESTIMATED_METRICS",
    "LOWER_IS_BETTER",
    "CBPEModel",
    "Calibration",
    "ClassCalibration",
    "DLEModel",
    "EstimatedConfig",
    "EstimatedMetric",
    "EstimatedPerformance",
    "EstimatedThreshold",
    "Estimator",
    "IsotonicCurve",
    "cm_metrics",
    "estimate_cbpe",
    "estimate_dle",
    "estimate_performance",
    "estimated_records",
    "estimation_unavailable",
    "expected_confusion_matrix",
    "expected_roc_auc",
    "fit_cbpe",
    "fit_dle",
    "fit_estimator",
]

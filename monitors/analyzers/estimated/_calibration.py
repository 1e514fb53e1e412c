"""Score calibration for CBPE: isotonic curves fitted on the reference, stored as JSON.

A fitted curve is kept as its isotonic thresholds (``x`` ascending, ``y`` non-decreasing)
and applied with :func:`numpy.interp`, which is what
``IsotonicRegression(out_of_bounds="clip").predict`` computes, so a calibration stored
with a reference version (:meth:`Calibration.to_dict`) needs neither pickle nor sklearn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sklearn.isotonic import IsotonicRegression

from monitors.analyzers.estimated._config import EstimatedConfig
from monitors.errors import SchemaError
from storage.schema import Scalar

FORMAT_VERSION: Final = 1


def ece(y: np.ndarray, p: np.ndarray, *, bins: int) -> float:
    """Expected calibration error over equal-width bins on [0, 1].

    Same bins as the ``performance`` analyzer: a value on an inner edge belongs to the
    lower bin. ``sum_b n_b / n * |mean(y in b) - mean(p in b)|``.

    Examples
    --------
    >>> ece(np.array([0.0, 1.0]), np.array([0.25, 0.75]), bins=2)
    0.25
    """
    if p.size == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=bins)
    gap = np.bincount(ids, weights=y, minlength=bins) - np.bincount(ids, weights=p, minlength=bins)
    return float(np.abs(gap).sum() / p.size) if counts.sum() else float("nan")


@dataclass(frozen=True, slots=True)
class IsotonicCurve:
    """A fitted isotonic calibration curve: thresholds ``x`` and calibrated values ``y``."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (linear between thresholds, clipped outside)."""
        return np.interp(scores, np.asarray(self.x), np.asarray(self.y))


@dataclass(frozen=True, slots=True)
class ClassCalibration:
    """Calibration of one class's score (binary models: the positive class only)."""

    label: Scalar
    curve: IsotonicCurve | None
    """``None`` when the raw scores are used as they are."""
    reference_ece: float
    """ECE of the raw scores on the reference."""
    check_ece: float
    """Out-of-fold ECE of the scores as used (calibrated or raw) on the reference."""
    reason: str


@dataclass(frozen=True, slots=True)
class Calibration:
    """How CBPE turns the model's scores into probabilities; JSON round-trips.

    Examples
    --------
    >>> c = Calibration.from_dict(Calibration.identity([1], n_reference=0).to_dict())
    >>> c.calibrated, c.apply(np.array([[0.3]])).tolist()
    (False, [[0.3]])
    """

    classes: tuple[Scalar, ...]
    per_class: tuple[ClassCalibration, ...]
    normalize: bool
    """Multiclass: divide each row by its sum after calibrating each class."""
    n_reference: int
    bins: int = 10
    warning: str | None = None
    """Why the estimate should not be trusted (poor calibration on the reference)."""

    @property
    def calibrated(self) -> bool:
        """Whether any class's scores are recalibrated."""
        return any(c.curve is not None for c in self.per_class)

    @property
    def reference_ece(self) -> float:
        """Largest raw-score ECE over the classes."""
        return max((c.reference_ece for c in self.per_class), default=float("nan"))

    @property
    def check_ece(self) -> float:
        """Largest out-of-fold ECE of the scores as used, over the classes."""
        return max((c.check_ece for c in self.per_class), default=float("nan"))

    @classmethod
    def identity(cls, classes: list[Scalar], *, n_reference: int) -> Calibration:
        """No calibration at all (scores used as they are)."""
        per = tuple(ClassCalibration(c, None, float("nan"), float("nan"), "none") for c in classes)
        return cls(tuple(classes), per, len(classes) > 1, n_reference)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for an ``(n, n_classes)`` score matrix."""
        out = np.empty(scores.shape, dtype=np.float64)
        for j, cal in enumerate(self.per_class):
            out[:, j] = scores[:, j] if cal.curve is None else cal.curve.apply(scores[:, j])
        if self.normalize:
            total = out.sum(axis=1, keepdims=True)
            uniform = np.full_like(out, 1.0 / len(self.per_class))
            out = np.divide(out, total, out=uniform, where=total > 0)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (isotonic thresholds, not a pickle)."""
        return {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "normalize": self.normalize,
            "n_reference": self.n_reference,
            "bins": self.bins,
            "warning": self.warning,
            "per_class": [
                {
                    "label": c.label,
                    "curve": None if c.curve is None else {"x": c.curve.x, "y": c.curve.y},
                    "reference_ece": _json_float(c.reference_ece),
                    "check_ece": _json_float(c.check_ece),
                    "reason": c.reason,
                }
                for c in self.per_class
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; :class:`SchemaError` on an unknown format."""
        if data.get("format") != FORMAT_VERSION:
            raise SchemaError(
                f"stored calibration: expected format {FORMAT_VERSION}; got {data.get('format')!r}"
            )
        per = []
        for c in data["per_class"]:
            curve = c["curve"]
            if curve is not None:
                curve = IsotonicCurve(tuple(map(float, curve["x"])), tuple(map(float, curve["y"])))
            per.append(
                ClassCalibration(
                    c["label"],
                    curve,
                    _float(c["reference_ece"]),
                    _float(c["check_ece"]),
                    str(c["reason"]),
                )
            )
        return cls(
            tuple(data["classes"]),
            tuple(per),
            bool(data["normalize"]),
            int(data["n_reference"]),
            int(data.get("bins", 10)),
            data.get("warning"),
        )


def _json_float(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _float(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _isotonic(scores: np.ndarray, y: np.ndarray) -> IsotonicCurve:
    """Fit sklearn's isotonic regression and keep its thresholds."""
    reg = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, y)
    return IsotonicCurve(
        tuple(float(v) for v in reg.X_thresholds_), tuple(float(v) for v in reg.y_thresholds_)
    )


def _out_of_fold(scores: np.ndarray, y: np.ndarray, *, config: EstimatedConfig) -> np.ndarray:
    """Scores calibrated by curves fitted without their own fold (seeded folds)."""
    folds = np.random.default_rng(config.seed).permutation(scores.size) % config.calibration_folds
    out = np.empty_like(scores)
    for k in range(config.calibration_folds):
        test = folds == k
        if test.all() or not test.any():
            out[test] = scores[test]
            continue
        out[test] = _isotonic(scores[~test], y[~test]).apply(scores[test])
    return out


def _calibrate_one(
    label: Scalar, scores: np.ndarray, y: np.ndarray, *, config: EstimatedConfig
) -> ClassCalibration:
    """Decide whether to calibrate one class's scores, and fit the curve if so."""
    raw = ece(y, scores, bins=config.calibration_bins)
    if config.calibration == "none":
        return ClassCalibration(label, None, raw, raw, "calibration='none'")
    if config.calibration == "auto" and raw < config.calibration_ece_threshold:
        why = f"raw reference ECE {raw:.4f} < {config.calibration_ece_threshold}"
        return ClassCalibration(label, None, raw, raw, why)
    check = ece(y, _out_of_fold(scores, y, config=config), bins=config.calibration_bins)
    why = (
        "calibration='isotonic'"
        if config.calibration == "isotonic"
        else f"raw reference ECE {raw:.4f} >= {config.calibration_ece_threshold}"
    )
    return ClassCalibration(label, _isotonic(scores, y), raw, check, why)


def fit_calibration(
    scores: np.ndarray, onehot: np.ndarray, classes: list[Scalar], *, config: EstimatedConfig
) -> Calibration:
    """Calibration of each score column against its class indicator on the reference.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(n, k)`` raw scores in [0, 1]; ``k == 1`` for a binary model (positive class).
    onehot : numpy.ndarray
        ``(n, k)`` 1.0 where the row's label is that column's class.
    classes : list
        The class of each column.
    config : EstimatedConfig

    Returns
    -------
    Calibration
    """
    per = tuple(
        _calibrate_one(c, scores[:, j], onehot[:, j], config=config) for j, c in enumerate(classes)
    )
    worst = max((c.check_ece for c in per), default=float("nan"))
    warning = None
    if np.isfinite(worst) and worst > config.poor_calibration_ece:
        warning = (
            f"poor calibration on the reference: out-of-fold ECE {worst:.3f} > "
            f"{config.poor_calibration_ece} ({scores.shape[0]} reference rows); "
            "the estimates may be biased"
        )
    n = int(scores.shape[0])
    return Calibration(tuple(classes), per, len(classes) > 1, n, config.calibration_bins, warning)

"""Expected calibration error and the reliability curve of binary probabilities."""

from __future__ import annotations

import numpy as np


def expected_calibration_error(
    y_true: np.ndarray, y_prob: np.ndarray, *, n_bins: int = 10
) -> tuple[float, list[dict[str, float | int]]]:
    """Expected calibration error over equal-width bins, and the reliability curve.

    ``ECE = sum_b n_b / n * |fraction of positives in b - mean predicted probability in b|``
    over the non-empty bins. Bins are those of
    ``sklearn.calibration.calibration_curve(strategy="uniform")``: edges
    ``linspace(0, 1, n_bins + 1)``, a value on an inner edge belongs to the lower bin.

    Parameters
    ----------
    y_true : numpy.ndarray
        1 for the positive class, 0 otherwise.
    y_prob : numpy.ndarray
        Predicted probability of the positive class, in [0, 1].
    n_bins : int
        Number of equal-width bins.

    Returns
    -------
    ece : float
    curve : list of dict
        One point per non-empty bin: ``bin_low``, ``bin_high``, ``count``,
        ``mean_predicted``, ``fraction_positive``.

    Raises
    ------
    ValueError
        If ``y_prob`` has values outside [0, 1] or the arrays are empty.

    Examples
    --------
    >>> ece, _ = expected_calibration_error(np.array([0, 1]), np.array([0.25, 0.75]), n_bins=2)
    >>> ece
    0.25
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.size == 0:
        raise ValueError("expected at least one probability; got none")
    if y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError(
            f"probabilities must be in [0, 1]; got range [{y_prob.min()}, {y_prob.max()}]"
        )
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], y_prob)
    counts = np.bincount(bin_ids, minlength=n_bins)
    sum_prob = np.bincount(bin_ids, weights=y_prob, minlength=n_bins)
    sum_true = np.bincount(bin_ids, weights=y_true, minlength=n_bins)
    nonzero = counts > 0
    mean_prob = sum_prob[nonzero] / counts[nonzero]
    frac_true = sum_true[nonzero] / counts[nonzero]
    ece = float(np.sum(counts[nonzero] / y_prob.size * np.abs(frac_true - mean_prob)))
    curve = [
        {
            "bin_low": float(edges[b]),
            "bin_high": float(edges[b + 1]),
            "count": int(counts[b]),
            "mean_predicted": float(mp),
            "fraction_positive": float(ft),
        }
        for b, mp, ft in zip(np.flatnonzero(nonzero), mean_prob, frac_true, strict=True)
    ]
    return ece, curve

"""SHAP values per input feature, from the explainer chosen by :func:`make_explainer`.

Tree and linear explainers run on the transformed input and their attributions are summed
back to the input feature owning each transformed column (traced by feature names, see
:mod:`._explain_columns`). The kernel explainer runs on the
input features coded as floats (categories as positions), decoded back before the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from monitors.analyzers._explain_types import KERNEL, Explainer


def _encode(frame: pd.DataFrame, categories: dict[str, pd.Index]) -> np.ndarray:
    """Frame as float codes: numeric columns as is, others as category positions (NaN missing)."""
    out = np.empty(frame.shape, dtype=np.float64)
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if name in categories:
            codes = categories[name].get_indexer(pd.Index(col))
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _decoder(
    background: pd.DataFrame, categories: dict[str, pd.Index]
) -> Callable[[np.ndarray], pd.DataFrame]:
    """Inverse of :func:`_encode` giving the original column dtypes back."""
    dtypes = background.dtypes

    def decode(matrix: np.ndarray) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for j, name in enumerate(background.columns):
            if name in categories:
                codes = np.nan_to_num(matrix[:, j], nan=-1).astype(np.int64)
                values = pd.Categorical.from_codes(codes, categories=categories[name])
                columns[name] = pd.Series(values).astype(dtypes[name])
            else:
                columns[name] = pd.Series(matrix[:, j]).astype(dtypes[name])
        return pd.DataFrame(columns)

    return decode


def _kernel_values(explainer: Explainer, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Kernel-explainer SHAP values and base values; the global numpy RNG state is restored."""
    background = explainer.background
    both = pd.concat([background, rows])
    categories = {
        name: pd.Index(both[name].dropna().unique())
        for name in both.columns
        if not pd.api.types.is_numeric_dtype(both[name].dtype)
        or pd.api.types.is_bool_dtype(both[name].dtype)
    }
    decode = _decoder(background, categories)

    def f(matrix: np.ndarray) -> np.ndarray:
        return explainer.model_output(decode(matrix))

    state = np.random.get_state()  # KernelExplainer samples from the global numpy RNG
    try:
        np.random.seed(explainer.seed)
        import shap  # imported on use: ~1 s and ~100 MB that passes without a model skip

        kernel = shap.KernelExplainer(f, _encode(background, categories))
        options: dict[str, Any] = {"l1_reg": False, "silent": True}
        if explainer.nsamples is not None:
            options["nsamples"] = explainer.nsamples
        values = kernel.shap_values(_encode(rows, categories), **options)
        base = float(np.ravel(kernel.expected_value)[0])
    finally:
        np.random.set_state(state)
    return np.asarray(values, dtype=np.float64), np.full(len(rows), base)


def shap_values(explainer: Explainer, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values per input feature ``(n, p)`` and base value per row ``(n,)``."""
    if rows.empty:
        return np.empty((0, len(explainer.features))), np.empty(0)
    if explainer.method == KERNEL:
        return _kernel_values(explainer, rows)
    assert explainer.transform is not None and explainer.groups is not None
    values = np.asarray(explainer.shap_explainer.shap_values(explainer.transform(rows)))
    expected = np.ravel(np.asarray(explainer.shap_explainer.expected_value, dtype=np.float64))
    if values.ndim == 3:
        index = explainer.class_index if explainer.class_index is not None else values.shape[2] - 1
        values, base = values[:, :, index], expected[index]
    else:
        base = expected[0]
    values = explainer.sign * values
    grouping = np.zeros((values.shape[1], len(explainer.features)))
    owned = explainer.groups >= 0
    grouping[np.flatnonzero(owned), explainer.groups[owned]] = 1.0
    return values @ grouping, np.full(len(rows), explainer.sign * base)

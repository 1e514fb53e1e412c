"""JSON-safe values for the details of drift results (plain scalars, no NaN)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def python_scalar(value: Any) -> Any:
    """``value`` with a NumPy scalar unwrapped into the Python scalar it holds."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_scalar(value: Any) -> Any:
    """A category or bin value as a JSON scalar: NaN/inf -> ``None``, other types as text."""
    value = python_scalar(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def json_clean(value: Any) -> Any:
    """Make ``value`` JSON-serialisable: plain scalars, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_clean(v) for v in value.tolist()]
    value = python_scalar(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)

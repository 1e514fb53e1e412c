"""Which metric decides a column's drift verdict, and the sentence that says why.

Evidently's rule: with a reference of at most ``size_split`` values a p-value test decides
(KS for numeric columns; chi-square, or the Z-test for two categories, otherwise), with a
larger one an effect size does (normalised Wasserstein; Jensen–Shannon). A per-feature
``method`` in the config wins when it applies to the column.
"""

from __future__ import annotations

from monitors.analyzers._drift_config import DriftConfig


def _override(column: str, available: set[str], config: DriftConfig) -> tuple[str | None, str]:
    """The configured method of ``column`` if it applies, else ``None`` and why not."""
    override = config.features.get(column)
    if override is None or override.method is None:
        return None, ""
    if override.method in available:
        return override.method, ""
    return None, f"; features[{column!r}].method={override.method!r} does not apply to this column"


def _size_split(column: str, config: DriftConfig) -> int:
    """Reference size up to which a p-value test decides (per-feature override first)."""
    override = config.features.get(column)
    if override is not None and override.size_split is not None:
        return override.size_split
    return config.size_split


def choose_method(
    column: str,
    kind_label: str,
    n_ref: int,
    n_distinct: int,
    discrete: bool,
    numeric: bool,
    available: set[str],
    config: DriftConfig,
) -> tuple[str, str]:
    """The deciding metric of ``column`` among ``available`` and the reason for it."""
    chosen, fallback_reason = _override(column, available, config)
    if chosen is not None:
        return chosen, f"{chosen} (set in config features[{column!r}].method)"
    split = _size_split(column, config)
    small = n_ref <= split
    size = f"reference n={n_ref} {'<=' if small else '>'} {split}: " + (
        "p-value test" if small else "effect size"
    )
    method: str
    if numeric and not discrete:
        method = config.methods.numeric_small if small else config.methods.numeric_large
        why = f"{kind_label}, {n_distinct} distinct values > {config.discrete_max_unique}, {size}"
    else:
        if small and n_distinct == 2:
            method = config.methods.binary_small
            what = "binary"
        elif small:
            method = config.methods.categorical_small
            what = f"{n_distinct} categories"
        else:
            method = config.methods.categorical_large
            what = f"{n_distinct} categories"
        if numeric:
            what = f"{n_distinct} distinct values <= {config.discrete_max_unique}"
        why = f"{kind_label}, {what}, {size}"
    if method not in available:  # e.g. z_test asked for but more than two categories
        fallback = "chi2" if small else "jensenshannon"
        why += f"; {method} does not apply, using {fallback}"
        method = fallback
    return method, f"{method} ({why}{fallback_reason})"

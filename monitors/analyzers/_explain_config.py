"""Configuration of the explain analyzer (see :mod:`monitors.analyzers.explain`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExplainFeatureOverride(BaseModel):
    """Per-feature settings of the explain analyzer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribution_drift_threshold: float | None = Field(default=None, gt=0, le=1)
    """Threshold on this feature's |share change|; ``None`` uses the model-wide one."""


class ExplainConfig(BaseModel):
    """Settings of the explain analyzer (all have documented defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_size: int = Field(default=2000, ge=1)
    """Rows explained for global importance with the tree and linear explainers (seeded sample)."""
    agnostic_sample_size: int = Field(default=100, ge=1)
    """Rows explained with the model-agnostic explainer, which costs 35-360 ms a row."""
    background_size: int = Field(default=100, ge=1)
    """Background rows (seeded sample of the reference) for the linear and agnostic explainers."""
    agnostic_nsamples: int | None = Field(default=None, ge=2)
    """Coalitions evaluated per row (each times the background) by the kernel explainer;
    ``None`` is shap's default ``2 * n_features + 2048`` (all coalitions up to 11 features)."""
    seed: int = 0
    """Seed of the row sample, the background sample and the kernel explainer."""
    min_rows: int = Field(default=20, ge=1)
    """Fewer explained rows than this gives ``insufficient_data``."""
    attribution_drift_threshold: float = Field(default=0.1, gt=0, le=1)
    """A feature drifts when |current share - reference share| of total mean |SHAP| exceeds this."""
    rank_correlation_threshold: float = Field(default=0.7, ge=-1, le=1)
    """Attribution ranking drifts when the Spearman correlation of mean |SHAP| falls below this."""
    features: dict[str, ExplainFeatureOverride] = Field(default_factory=dict)
    """Per-feature overrides, keyed by feature name."""

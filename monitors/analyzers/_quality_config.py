"""Configuration of the data-quality checks: model-wide thresholds and per-column overrides."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QualityOverride(BaseModel):
    """Per-column threshold overrides; ``None`` keeps the model-wide value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of nulls is above this."""
    type_mismatch_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values of the wrong type is above this."""
    out_of_range_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values outside the reference range is above this."""
    new_category_share: float | None = Field(default=None, ge=0.0, le=1.0)
    """Breach when the share of non-null values unseen in the reference is above this."""
    check_constant: bool | None = None
    """Whether a column that became constant is a breach."""


class QualityConfig(BaseModel):
    """Thresholds of the data-quality checks, model-wide and per column.

    Examples
    --------
    >>> cfg = QualityConfig(missing_share=0.2, features={"age": QualityOverride(missing_share=0.5)})
    >>> cfg.features["age"].missing_share
    0.5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """Breach when the share of null values of a column is above this (not for the label)."""
    type_mismatch_share: float = Field(default=0.0, ge=0.0, le=1.0)
    """Breach when the share of non-null values of the wrong type is above this (any)."""
    out_of_range_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """Breach when the share of non-null numeric values outside the reference [min, max]
    is above this."""
    new_category_share: float = Field(default=0.05, ge=0.0, le=1.0)
    """Breach when the share of non-null categorical values unseen in the reference is
    above this."""
    check_constant: bool = True
    """A column with <= 1 distinct non-null value that had more in the reference breaches."""
    max_new_categories_listed: int = Field(default=20, ge=0)
    """How many new categories (most frequent first) are listed in the details."""
    quarantined_rows: int = Field(default=0, ge=0)
    """Breach when more rows than this were quarantined at ingest for the window."""
    schema_mismatch: int = Field(default=0, ge=0)
    """Breach when more schema columns than this are missing from the logged data."""
    expected_rows: int | None = Field(default=None, gt=0)
    """Expected rows per window; ``row_count_ratio`` is ``None`` without it."""
    min_row_count_ratio: float | None = Field(default=None, ge=0.0)
    """Breach when ``row_count_ratio`` is below this (needs ``expected_rows``)."""
    max_row_count_ratio: float | None = Field(default=None, ge=0.0)
    """Breach when ``row_count_ratio`` is above this (needs ``expected_rows``)."""
    features: dict[str, QualityOverride] = Field(default_factory=dict)
    """Per-column overrides, keyed by column name (features, sensitive, prediction,
    score or label)."""

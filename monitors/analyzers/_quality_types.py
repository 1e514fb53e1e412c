"""Result types of the data-quality analyzer: reference profiles and checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from monitors.analyzers.base import BREACH

ANALYZER: Final = "quality"


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """What the reference says about one column, computed once per reference."""

    name: str
    kind: str
    n_rows: int
    n_non_null: int
    minimum: float | None
    """Smallest non-null reference value (numeric columns)."""
    maximum: float | None
    """Largest non-null reference value (numeric columns)."""
    categories: frozenset[Any] | None
    """Distinct non-null reference values (categorical and boolean columns)."""
    varied: bool
    """Whether the reference has more than one distinct non-null value."""


@dataclass(frozen=True, slots=True)
class QualityReference:
    """Reference profiles of every monitored column."""

    n_rows: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of ``name``, or ``None`` if the reference did not have it."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One check: its value, the threshold it was judged against and the verdict."""

    metric: str
    value: float | None
    threshold: float | None
    status: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ColumnQuality:
    """The checks of one column in one window."""

    column: str
    role: str
    kind: str
    n_rows: int
    n_non_null: int
    checks: tuple[QualityCheck, ...]

    def check(self, metric: str) -> QualityCheck:
        """The check called ``metric``; :class:`KeyError` if it did not run."""
        for c in self.checks:
            if c.metric == metric:
                return c
        raise KeyError(f"column {self.column!r} has no {metric!r} check")


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Data quality of one window: model-level checks and per-column checks."""

    n_rows: int
    n_reference_rows: int
    dataset: tuple[QualityCheck, ...]
    columns: tuple[ColumnQuality, ...]

    def column(self, name: str) -> ColumnQuality:
        """The checks of column ``name``; :class:`KeyError` if it was not checked."""
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(f"column {name!r} was not checked")

    def check(self, metric: str) -> QualityCheck:
        """The model-level check called ``metric``."""
        for c in self.dataset:
            if c.metric == metric:
                return c
        raise KeyError(f"no model-level check {metric!r}")

    @property
    def breaches(self) -> list[tuple[str | None, QualityCheck]]:
        """``(column or None, check)`` of every breached check."""
        out: list[tuple[str | None, QualityCheck]] = [
            (None, c) for c in self.dataset if c.status == BREACH
        ]
        for col in self.columns:
            out.extend((col.column, c) for c in col.checks if c.status == BREACH)
        return out

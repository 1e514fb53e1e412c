"""Analyzers on a window summary instead of rows (see ``docs/scale.md``).

Each function takes a :class:`~monitors.summaries.types.WindowSummary` (and its
:class:`~monitors.summaries.types.SummarySpec` where bins matter) in place of the window's
rows and returns the same result type as the row analyzer:

================================  ===============================================
row analyzer                       from a summary
================================  ===============================================
``drift.column_drift``             :func:`column_drift_from_summary`
``quality.data_quality``           :func:`data_quality_from_summary`
``fairness.group_fairness``        :func:`group_fairness_from_summary`
``performance.model_performance``  :func:`model_performance_from_summary`
================================  ===============================================

What is exact and what is approximate (with its bound) is stated in each module:
:mod:`._summary_drift`, :mod:`._summary_quality`, :mod:`._summary_fairness`,
:mod:`._summary_performance`. The multivariate drift, explanations and estimated
performance run on the summary's uniform sample (:func:`monitors.summaries.sample.
sample_frame`); when the sample holds the whole window the row analyzers run on it and
every number is the row path's.
"""

from __future__ import annotations

from monitors.analyzers._summary_drift import column_drift_from_summary
from monitors.analyzers._summary_fairness import group_fairness_from_summary
from monitors.analyzers._summary_performance import model_performance_from_summary
from monitors.analyzers._summary_quality import data_quality_from_summary

__all__ = [
    "column_drift_from_summary",
    "data_quality_from_summary",
    "group_fairness_from_summary",
    "model_performance_from_summary",
]

"""The methodology section of the fairness audit report (fixed text, part of the hash)."""

from __future__ import annotations

from typing import Any

DEFINITIONS = {
    "count": "Number of rows of the group with a prediction in the period.",
    "selection_rate": "Share of the group's rows predicted as the positive class "
    "(fairlearn selection_rate).",
    "tpr": "True positive rate: among labelled rows with the positive label, the share "
    "predicted positive (fairlearn true_positive_rate).",
    "fpr": "False positive rate: among labelled rows with a negative label, the share "
    "predicted positive (fairlearn false_positive_rate).",
    "fnr": "False negative rate, 1 - TPR (fairlearn false_negative_rate).",
    "precision": "Among labelled rows predicted positive, the share with the positive label "
    "(scikit-learn precision_score).",
    "accuracy": "Share of labelled rows whose prediction equals the label "
    "(scikit-learn accuracy_score).",
    "mean_prediction": "Mean predicted value (regression; fairlearn mean_prediction).",
    "mae": "Mean absolute error on labelled rows (regression; scikit-learn).",
    "demographic_parity_difference": "Largest minus smallest group selection rate "
    "(fairlearn, method between_groups).",
    "demographic_parity_ratio": "Smallest over largest group selection rate (fairlearn).",
    "equalized_odds_difference": "The larger of the TPR and FPR differences between groups "
    "(fairlearn).",
    "equalized_odds_ratio": "The smaller of the TPR and FPR ratios between groups (fairlearn).",
    "equal_opportunity_difference": "Largest minus smallest group TPR (fairlearn).",
    "disparate_impact_ratio": "Each group's selection rate over the most-selected group's "
    "(impact ratio, as in NYC Local Law 144 bias audits); the disparity is the smallest "
    "of these. The four-fifths rule passes when it is at least the four_fifths threshold "
    "(default 0.8).",
}


def methodology() -> dict[str, Any]:
    """The methodology text: definitions, intervals, verdicts and limitations."""
    return {
        "source": "Metrics are computed with fairlearn's definitions (MetricFrame) from the "
        "counts of (group, label, prediction) cells, which gives the same values as "
        "MetricFrame over the rows. Selected means predicted as the positive class; "
        "multiclass models are analysed one-vs-rest of the positive class.",
        "groups": "Each sensitive attribute alone and, unless disabled, every combination "
        "of two or more attributes (intersectional groups, named attr=value joined with &). "
        "A missing sensitive value forms its own group unless configured otherwise.",
        "definitions": DEFINITIONS,
        "confidence_intervals": "Score intervals computed from the counts, at the "
        "confidence given in the parameters. Each group's rate: Wilson's interval (count: "
        "the group's share of the rows, times their number). Each disparity: simultaneous "
        "intervals for every pair of groups (Newcombe's score interval for a difference, the "
        "MOVER-R score interval for a ratio), each at level 1 - (1 - confidence) / number of "
        "pairs (Bonferroni; equalized odds split it between TPR and FPR), bound the largest "
        "difference (smallest ratio), so the interval contains the true disparity with at "
        "least the stated confidence, also when every group has the same rate (difference "
        "0, ratio 1). A breach is significant when its whole interval lies past the "
        "threshold. Regression metrics: percentile bootstrap of the rows in a canonical "
        "order, with the number of resamples and seed given in the parameters.",
        "verdicts": "Differences pass when at most their threshold; ratios (including the "
        "four-fifths rule on the disparate impact ratio) pass when at least their threshold. "
        "Disparities are taken over all groups, as fairlearn does; restricted_value repeats "
        "them over groups with at least min_group_size rows and lists the excluded groups.",
        "insufficient_data": "Groups with fewer than min_group_size rows (labelled rows for "
        "label-based metrics) are kept, shown and flagged insufficient_data; their values "
        "and intervals are unreliable.",
        "limitations": [
            "Label-based metrics use only rows whose label had arrived when the report was "
            "made; late labels can change them.",
            "Intervals are approximate for small groups; disparity intervals are "
            "conservative (Bonferroni over pairs) and wide for many or small groups.",
            "Statistical parity metrics say nothing about why groups differ; a passing "
            "report is not evidence that the model is fair in every sense.",
            "Intersectional groups are often small; many of them may be flagged insufficient_data.",
            "Impact ratios include every category; a bias audit that excludes categories "
            "below 2 % of the data must filter the table.",
            "Sensitive attributes are as logged by the model's service; misrecorded or "
            "missing values affect every group metric.",
        ],
        "reproducibility": "The content of this report (everything except the hash, the "
        "signature and the export record) is a function of the parameters and the logged "
        "data; its SHA-256 over the canonical JSON (sorted keys, 10 significant digits, "
        "UTF-8) identifies it.",
    }

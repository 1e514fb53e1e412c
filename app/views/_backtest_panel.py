"""The alerts page's "try a rule" panel: a rule's backtest on the metric's chart, unsaved.

The author picks a model, a metric, its series (feature/group), the operator, the
threshold and ``for``; the rule is replayed over the stored history with the live
engine's state machine (:func:`monitors.alerts.backtest.preview_rule`, the same replay as
``driftwarden alerts backtest``) and the firing episodes are shaded on the metric's
chart. Nothing is written; the rule file snippet to save it is shown below the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
import yaml

from app import data
from app import format as fmt

OPS = (">", ">=", "<", "<=")
_EACH_FEATURE = "each feature (*)"


def _series_options(rows: Sequence[tuple[str, str, str]], metric: str) -> dict[str, Any]:
    """Series choices of a metric: label → ``(feature, group)`` rule keys."""
    pairs = sorted({(f, g) for m, f, g in rows if m == metric})
    options: dict[str, Any] = {}
    for feature, group in pairs:
        if not feature and not group:
            options["model level"] = (None, None)
        else:
            options["/".join(p for p in (feature, group) if p)] = (feature or None, group or None)
    features = {f for f, g in pairs if f and not g}
    if len(features) > 1:
        options[_EACH_FEATURE] = ("*", None)
    for attribute in sorted({f for f, g in pairs if f and g}):
        options[f"{attribute}: each group (*)"] = (attribute, "*")
    return options


def _default_threshold(preview_values: pd.DataFrame) -> float:
    """A starting threshold: the 90th percentile of the stored values (rounded)."""
    values = preview_values["value"].dropna()
    return float(f"{values.quantile(0.9):.3g}") if not values.empty else 0.0


def _chart(values: pd.DataFrame, episodes: pd.DataFrame, threshold: float) -> alt.LayerChart:
    """The metric per window, the threshold, and the firing episodes shaded."""
    several = values["series"].nunique() > 1
    line = (
        alt.Chart(values)
        .mark_line(point=True)
        .encode(
            x=alt.X("window_start:T", title="window"),
            y=alt.Y("value:Q", title="value"),
            color=alt.Color("series:N") if several else alt.value("#4c78a8"),
            tooltip=["series:N", alt.Tooltip("window_start:T", title="window"), "value:Q"],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(color="#e45756", strokeDash=[6, 3])
        .encode(y="threshold:Q")
    )
    layers: list[Any] = []
    if not episodes.empty:
        layers.append(
            alt.Chart(episodes)
            .mark_rect(color="#e45756", opacity=0.18)
            .encode(
                x="from:T",
                x2="until:T",
                tooltip=[
                    "series:N",
                    alt.Tooltip("from:T", title="from"),
                    alt.Tooltip("to:T", title="to"),
                    alt.Tooltip("peak:Q", format=".4g"),
                ],
            )
        )
    return alt.layer(*layers, line, rule)


def _summary(preview: Any) -> None:
    """Four numbers and the episodes table."""
    result = preview.result
    cols = st.columns(4)
    cols[0].metric("Firing episodes", result.episodes)
    cols[1].metric("Notifications per channel", result.notifications)
    cols[2].metric("Pending windows, never fired", result.pending_windows)
    cols[3].metric("Windows without data", result.no_data_windows)
    if not preview.episodes.empty:
        st.dataframe(
            fmt.display_frame(
                preview.episodes,
                {
                    "series": "series",
                    "from": "from (UTC)",
                    "to": "to (UTC)",
                    "peak": "peak",
                    "open": "still firing",
                },
                {"from": fmt.when, "to": fmt.when, "peak": fmt.num},
            ),
            hide_index=True,
        )


def render(url: str, names: Sequence[str], model: str | None) -> None:
    """The panel (a section of the alerts page)."""
    st.subheader("Try a rule")
    st.caption(
        "Replays a rule over the stored metric history, window by window, with the live "
        "engine's state machine (`for`, `repeat: 24h`, `no_data`), as "
        "`driftwarden alerts backtest` does. Nothing is saved."
    )
    names = list(names)
    cols = st.columns(3)
    chosen = cols[0].selectbox(
        "Model", names, index=names.index(model) if model in names else 0, key="dw_bt_model"
    )
    rows = data.rule_series(url, chosen)
    metrics = sorted({m for m, _, _ in rows})
    if not metrics:
        st.info(f"No stored metrics for {chosen!r} yet: run `driftwarden run` first.")
        return
    default = metrics.index("drift_detected") if "drift_detected" in metrics else 0
    metric = cols[1].selectbox("Metric", metrics, index=default, key="dw_bt_metric")
    options = _series_options(rows, metric)
    label = cols[2].selectbox("Feature / group", list(options), key=f"dw_bt_series_{metric}")
    feature, group = options[label]
    base = {"name": "try", "model": chosen, "metric": metric, "op": ">", "threshold": 0.0}
    base |= {"feature": feature, "group": group}
    seen = data.rule_backtest(url, base).values
    cols = st.columns(3)
    op = cols[0].selectbox("Operator", OPS, index=1, key="dw_bt_op")  # >= the 90th percentile
    threshold = cols[1].number_input(
        "Threshold", value=_default_threshold(seen), format="%g", key=f"dw_bt_thr_{metric}_{label}"
    )
    for_windows = cols[2].number_input("For (windows)", 1, 365, 1, key="dw_bt_for")
    rule = base | {"op": op, "threshold": float(threshold), "for": int(for_windows)}
    preview = data.rule_backtest(url, rule)
    _summary(preview)
    st.altair_chart(_chart(preview.values, preview.episodes, float(threshold)), width="stretch")
    saved = {k: v for k, v in (rule | {"name": f"{metric}-rule"}).items() if v is not None}
    st.caption("To keep it, add to your rule file and `driftwarden alerts apply` it:")
    st.code(yaml.safe_dump({"rules": [saved]}, sort_keys=False), language="yaml")

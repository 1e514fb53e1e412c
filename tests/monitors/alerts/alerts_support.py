"""Helpers for the alert tests: models, metric windows and rule files in a database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from monitors.alerts.rules import apply_rules, parse_rule_file
from storage.engine import session_scope
from storage.models import MetricResult, Model, OutboxMessage

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def window(i: int) -> tuple[datetime, datetime]:
    """Start and end of daily window ``i``."""
    return T0 + i * DAY, T0 + (i + 1) * DAY


def add_model(engine: Engine, name: str = "credit") -> int:
    """Register a bare model row; returns its id."""
    with session_scope(engine) as session:
        model = Model(name=name, task="classification", schema_json={}, log_table=f"log_{name}")
        session.add(model)
        session.flush()
        return model.id


def add_window(
    engine: Engine,
    model_id: int,
    i: int,
    values: Mapping[tuple[str, str, str], float | None],
    *,
    analyzer: str = "drift",
) -> None:
    """Store the metric values of window ``i``: ``{(metric, feature, group): value}``."""
    start, end = window(i)
    with session_scope(engine) as session:
        for (metric, feature, group), value in values.items():
            session.add(
                MetricResult(
                    model_id=model_id,
                    window_start=start,
                    window_end=end,
                    analyzer=analyzer,
                    metric=metric,
                    feature=feature,
                    group=group,
                    value=value,
                    threshold=None,
                    status="ok",
                    details={},
                )
            )


def apply_text(engine: Engine, text: str) -> None:
    """Apply a rule file given as YAML text."""
    with session_scope(engine) as session:
        apply_rules(session, parse_rule_file(text))


def outbox_count(engine: Engine) -> int:
    """Rows in the outbox."""
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)

"""Data helpers of the report tests: a small monitored model and signing keys."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from monitors.analyzers.base import DRIFT, OK, MetricRecord
from monitors.collectors.client import Client
from storage.engine import get_engine, session_scope
from storage.metrics import store_window
from storage.models import AlertEvent, AlertRule, AlertSeries
from storage.registry import get_model

MODEL = "credit"
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 3, 8, tzinfo=UTC)
AGE_BANDS = ("18-24", "<script>alert(1)</script>", "=cmd()")


def make_frame(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Logged rows: two sensitive attributes with different selection rates per group."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    age = rng.choice(AGE_BANDS, n, p=[0.55, 0.35, 0.10])
    label = rng.integers(0, 2, n)
    p_select = np.where(sex == "F", 0.35, 0.6) + np.where(label == 1, 0.25, -0.1)
    pred = (rng.random(n) < p_select).astype(np.int64)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "ts": START + pd.to_timedelta(rng.integers(0, 6 * 86400, n), unit="s"),
            "x": rng.normal(size=n),
            "sex": pd.array(sex, dtype="str"),
            "age_band": pd.array(age, dtype="str"),
            "label": label,
            "pred": pred,
            "score": rng.random(n),
        }
    )


@dataclass(frozen=True)
class MonitoredModel:
    """A registered model with logged rows, stored drift metrics and a fairness alert."""

    url: str
    frame: pd.DataFrame


def seed_history(url: str) -> None:
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        for day, (value, status) in enumerate([(0.05, OK), (0.31, DRIFT)]):
            store_window(
                session,
                model,
                window_start=datetime(2024, 3, 2 + day, tzinfo=UTC),
                window_end=datetime(2024, 3, 3 + day, tzinfo=UTC),
                records=[
                    MetricRecord("drift", "psi", "x", None, value, 0.2, status, {}),
                    MetricRecord("explain", "attribution_share", "x", None, 0.5 + day, None, OK),
                ],
                n_rows=10,
                n_labels=10,
                reference_version=1,
            )
        rule = AlertRule(
            name="dir-sex",
            model=MODEL,
            metric="disparate_impact_ratio",
            feature="sex",
            op="<",
            threshold=0.8,
        )
        session.add(rule)
        session.flush()
        series = AlertSeries(rule_id=rule.id, feature="sex", state="firing")
        session.add(series)
        session.flush()
        session.add(
            AlertEvent(
                series_id=series.id,
                rule_id=rule.id,
                from_state="pending",
                to_state="firing",
                at=datetime(2024, 3, 4, 0, 5, tzinfo=UTC),
                window_start=datetime(2024, 3, 3, tzinfo=UTC),
                window_end=datetime(2024, 3, 4, tzinfo=UTC),
                value=0.61,
                threshold=0.8,
            )
        )


def register(url: str, frame: pd.DataFrame) -> None:
    """Register :data:`MODEL` in ``url`` and log ``frame``."""
    client = Client(url)
    client.register_model(
        MODEL,
        task="binary_classification",
        reference=frame,
        id="id",
        timestamp="ts",
        prediction="pred",
        score="score",
        label="label",
        sensitive=["sex", "age_band"],
        positive_class=1,
    )
    client.log(MODEL, frame)


def private_pem(key: Ed25519PrivateKey) -> str:
    """PKCS#8 PEM text of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_b64(key: Ed25519PrivateKey) -> str:
    """Base64 of the raw public key of ``key``."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()

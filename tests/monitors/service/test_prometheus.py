"""GET /metrics: service counters, latest stored values as gauges, alert states, bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.monitors.service.support import (
    MODEL,
    Keys,
    Server,
    json_rows,
    predictions,
    register,
    store_results,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and label set."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@pytest.fixture(scope="module")
def stored(service_url: str) -> None:
    store_results(service_url)
    register(service_url, "other")
    store_results(service_url, "other")


@pytest.fixture(scope="module")
def capped(service_url: str, stored: None, workdir: Path) -> Iterator[Server]:
    """A service with a cap of 4 series and no cache, /metrics public."""
    server = Server(service_url, workdir, "--metrics-max-series", "4", "--public-metrics")
    yield server
    server.stop()


def test_gauges_hold_the_latest_value_of_each_series(
    server: Server, keys: Keys, stored: None
) -> None:
    with server.client(keys.ingest) as http:
        http.post(f"/v1/models/{MODEL}/predictions", json=json_rows(predictions(4, prefix="pm-")))
    with server.client(keys.read) as http:
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    series = {"model": MODEL, "analyzer": "drift", "metric": "psi", "feature": "age", "group": ""}
    assert value(found, "driftwarden_metric_value", **series) == 0.3
    accuracy = {**series, "analyzer": "performance", "metric": "accuracy", "feature": ""}
    assert value(found, "driftwarden_metric_value", **accuracy) == 0.8  # from window 1
    group = {**series, "analyzer": "fairness", "metric": "selection_rate", "feature": "sex"}
    assert value(found, "driftwarden_metric_value", **{**group, "group": "sex=F"}) == 0.45
    assert value(found, "driftwarden_metric_value", **{**group, "group": "sex=M"}) == 0.5
    assert value(found, "driftwarden_metric_value", **{**group, "group": "sex=X"}) is None
    missing = {**series, "analyzer": "quality", "metric": "missing_share"}
    assert value(found, "driftwarden_metric_value", **missing) is None  # no value stored
    assert value(found, "driftwarden_metric_series_dropped_total", reason="small_group") >= 1
    alert = {
        "rule": f"{MODEL}-psi-high",
        "model": MODEL,
        "feature": "age",
        "group": "",
        "severity": "critical",
    }
    assert value(found, "driftwarden_alert_firing", **alert) == 1.0
    assert value(found, "driftwarden_alert_state", **alert, state="firing") == 1.0
    ok = {**alert, "rule": f"{MODEL}-acc-low", "feature": ""}
    assert value(found, "driftwarden_alert_firing", **ok) == 0.0
    assert value(found, "driftwarden_stored_metrics_up") == 1.0
    assert value(found, "driftwarden_model_last_window_end_seconds", model=MODEL) is not None
    rows = {"model": MODEL, "kind": "predictions", "outcome": "stored"}
    assert value(found, "driftwarden_ingest_rows_total", **rows) >= 4
    route = {"method": "POST", "route": "/v1/models/{name}/predictions", "status": "200"}
    assert value(found, "driftwarden_http_requests_total", **route) >= 1
    assert value(found, "driftwarden_ingest_duration_seconds_count", kind="predictions") >= 1


def test_a_restricted_key_sees_its_model_only(server: Server, keys: Keys, stored: None) -> None:
    with server.client(keys.read_credit) as http:
        found = samples(http.get("/metrics").text)
    models = {
        dict(labels).get("model")
        for name, labels in found
        if name.startswith(("driftwarden_metric_value", "driftwarden_alert", "driftwarden_model_"))
    }
    assert models == {MODEL}


def test_scrapes_need_a_read_key(server: Server, keys: Keys) -> None:
    with server.client() as http:
        assert http.get("/metrics").status_code == 401
    with server.client(keys.ingest) as http:
        assert http.get("/metrics").status_code == 403
    with server.client(keys.admin) as http:
        assert http.get("/metrics").status_code == 200


def test_the_series_cap_drops_group_series_first_and_counts(capped: Server) -> None:
    with capped.client() as http:  # --public-metrics: no key
        found = samples(http.get("/metrics").text)
    values = [labels for name, labels in found if name == "driftwarden_metric_value"]
    assert len(values) == 4
    assert all(dict(labels)["group"] == "" for labels in values)
    # 2 models x (psi age, psi region, accuracy, F, M) = 10 series, 4 kept
    assert value(found, "driftwarden_metric_series_dropped_total", reason="cap") == 6.0

"""Re-sending predictions never stores a row twice; a changed re-send is a reported conflict."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from monitors.collectors import Client
from monitors.errors import ValidationError

MODEL = "credit"


def test_resend_stores_nothing(client: Client, make_predictions, counts) -> None:
    batch = make_predictions(200)
    first = client.log(MODEL, batch)
    assert (first.rows, first.stored, first.already_present, first.conflicts) == (200, 200, 0, 0)
    assert first.quarantined == 0

    again = client.log(MODEL, batch)
    assert (again.rows, again.stored, again.already_present) == (200, 0, 200)
    assert (again.conflicts, again.quarantined) == (0, 0)
    assert counts() == {"rows": 200, "quarantine": 0, "batches": 2}


def test_partial_overlap_stores_only_new_ids(client: Client, make_predictions, counts) -> None:
    first = make_predictions(100)
    client.log(MODEL, first)
    # r60..r99 identical to what is stored, r100..r159 new
    overlapping = pd.concat([first.iloc[60:], make_predictions(60, start=100, seed=5)])
    result = client.log(MODEL, overlapping)
    assert (result.stored, result.already_present, result.conflicts) == (60, 40, 0)
    window = client.load_window(MODEL)
    assert len(window) == 160
    assert window["id"].is_unique


def test_resend_with_a_changed_value_is_a_conflict(
    client: Client, make_predictions, counts, quarantined
) -> None:
    batch = make_predictions(20)
    client.log(MODEL, batch)
    changed = batch.copy()
    original_age = float(batch.loc[3, "age"])
    changed.loc[3, "age"] = original_age + 1.0

    result = client.log(MODEL, changed)

    assert (result.stored, result.already_present, result.conflicts) == (0, 19, 1)
    assert result.quarantined == 1
    (row,) = quarantined(result.batch_id)
    assert row.kind == "conflict"
    assert row.row_number == 4
    assert row.prediction_id == "r3"
    assert row.column == "age"
    assert row.reason == (
        "Row 4: conflicting duplicate: prediction_id 'r3' is already stored with different "
        "values in column(s) ['age']; the stored row was kept"
    )
    assert json.loads(row.values)["id"] == "r3"
    stored = client.load_window(MODEL).set_index("id")
    assert stored.loc["r3", "age"] == original_age  # never overwritten
    assert counts() == {"rows": 20, "quarantine": 1, "batches": 2}


def test_quarantine_keeps_the_original_values_exactly(
    client: Client, make_predictions, quarantined
) -> None:
    """Quarantined values are the sent values, not rounded (floats round-trip through JSON)."""
    batch = make_predictions(5)
    client.log(MODEL, batch)
    changed = batch.copy()
    changed.loc[1, "age"] = 41.0490011715304  # needs more than 10 significant digits
    result = client.log(MODEL, changed)
    (row,) = quarantined(result.batch_id)
    sent = json.loads(row.values)
    assert sent["age"] == 41.0490011715304
    assert sent["income"] == float(batch.loc[1, "income"])


def test_conflict_in_several_columns_names_each(client: Client, make_predictions, quarantined):
    batch = make_predictions(5)
    client.log(MODEL, batch)
    changed = batch.copy()
    changed.loc[0, "region"] = "west"
    changed.loc[0, "p"] = 0.123456
    result = client.log(MODEL, changed)
    assert result.conflicts == 1
    (row,) = quarantined(result.batch_id)
    assert row.reason.endswith("in column(s) ['region', 'p']; the stored row was kept")


def test_missing_value_resent_against_a_stored_one_is_a_conflict(
    client: Client, make_predictions
) -> None:
    batch = make_predictions(5)
    client.log(MODEL, batch)
    changed = batch.copy()
    changed["age"] = changed["age"].astype("float64")
    changed.loc[2, "age"] = float("nan")  # NaN vs a stored number: values differ
    result = client.log(MODEL, changed)
    assert (result.conflicts, result.already_present) == (1, 4)


def test_a_label_arriving_with_a_resend_is_not_a_conflict(client: Client, make_predictions):
    """Labels arrive later: a stored NULL label vs a sent label is not a conflict."""
    batch = make_predictions(10)
    client.log(MODEL, batch.drop(columns="y"))
    result = client.log(MODEL, batch)
    assert (result.stored, result.already_present, result.conflicts) == (0, 10, 0)


def test_strict_resend_with_a_conflict_rejects_the_batch(
    client: Client, make_predictions, counts
) -> None:
    batch = make_predictions(10)
    client.log(MODEL, batch)
    changed = pd.concat([batch, make_predictions(5, start=10)], ignore_index=True)
    changed.loc[0, "income"] += 1.0
    before = counts()
    with pytest.raises(ValidationError, match="strict mode: 1 conflicting duplicate"):
        client.log(MODEL, changed, strict=True)
    assert counts() == before  # the 5 new rows were not stored either


def test_ingest_batch_records_the_counts(client: Client, make_predictions) -> None:
    from sqlalchemy import select

    from storage.engine import get_engine, session_scope
    from storage.models import IngestBatch

    batch = make_predictions(30)
    first = client.log(MODEL, batch, source="unit-test")
    bad = batch.copy()
    bad["age"] = bad["age"].astype(object)
    bad.loc[0, "age"] = "forty"
    second = client.log(MODEL, bad)
    with session_scope(get_engine(client.url)) as session:
        records = {b.id: b for b in session.scalars(select(IngestBatch))}
    one, two = records[first.batch_id], records[second.batch_id]
    assert (one.kind, one.source, one.n_rows, one.stored, one.already_present) == (
        "predictions",
        "unit-test",
        30,
        30,
        0,
    )
    assert (two.n_rows, two.stored, two.already_present, two.quarantined) == (30, 0, 29, 1)

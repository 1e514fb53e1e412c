"""Validation with nothing lost: bad rows quarantined with reasons, strict is atomic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from monitors.collectors import Client
from monitors.collectors.ingest import ingest_predictions
from monitors.collectors.validate import Problem
from monitors.errors import IngestError, UnknownModelError, ValidationError
from storage import bulk

MODEL = "credit"
BAD = 2  # position of the bad row; its row number is 3


def _set(column: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[BAD, column] = value
        return frame

    return mutate


def _duplicate_id(frame: pd.DataFrame) -> pd.DataFrame:
    frame["id"] = frame["id"].astype(object)
    frame.loc[BAD, "id"] = frame.loc[0, "id"]
    return frame


def _unknown_column(frame: pd.DataFrame) -> pd.DataFrame:
    frame["extra"] = pd.Series([None] * len(frame), dtype=object)
    frame.loc[BAD, "extra"] = "surprise"
    return frame


# (mutation, column, reason, original value as kept in quarantine)
CASES = [
    pytest.param(
        _set("id", None), "id", "missing value: the id is required", None, id="missing-id"
    ),
    pytest.param(
        _duplicate_id,
        "id",
        "duplicate prediction_id 'r0' in the batch (first at row 1)",
        "r0",
        id="duplicate-id",
    ),
    pytest.param(
        _set("ts", "yesterday-ish"),
        "ts",
        "expected an ISO 8601 timestamp, got 'yesterday-ish'",
        "yesterday-ish",
        id="bad-timestamp",
    ),
    pytest.param(
        _set("age", "forty"), "age", "expected a number, got 'forty'", "forty", id="wrong-type"
    ),
    pytest.param(
        _set("yhat", np.nan),
        "yhat",
        "missing value: the prediction is required",
        None,
        id="nan-prediction",
    ),
    pytest.param(
        _set("p", np.nan), "p", "missing value: the score is required", None, id="nan-score"
    ),
    pytest.param(
        _set("p", 1.5), "p", "score must be a probability in [0, 1], got 1.5", 1.5, id="bad-score"
    ),
    pytest.param(
        _set("y", 7), "y", "label outside the model's classes [0, 1]: got 7", 7, id="bad-label"
    ),
    pytest.param(
        _unknown_column,
        "extra",
        "unknown column 'extra': not in the model's schema",
        "surprise",
        id="unknown-column",
    ),
]


@pytest.mark.parametrize(("mutate", "column", "reason", "original"), CASES)
def test_bad_row_is_quarantined_with_its_reason(
    client: Client,
    make_predictions,
    counts,
    quarantined,
    mutate,
    column: str,
    reason: str,
    original: Any,
) -> None:
    frame = mutate(make_predictions(6))
    result = client.log(MODEL, frame, on_new_columns="quarantine")

    message = f"Row 3, column {column!r}: {reason}"
    assert [str(p) for p in result.problems] == [message]
    assert result.problems == [Problem(3, column, reason)]
    assert (result.rows, result.stored, result.quarantined) == (6, 5, 1)
    (row,) = quarantined(result.batch_id)
    assert (row.row_number, row.kind, row.column, row.reason) == (3, "invalid", column, message)
    assert row.prediction_id == ("r2" if column != "id" else original)
    assert json.loads(row.values)[column] == original
    assert set(client.load_window(MODEL)["id"]) == {"r0", "r1", "r3", "r4", "r5"}
    assert counts() == {"rows": 5, "quarantine": 1, "batches": 1}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # both: tests below
@pytest.mark.parametrize(("mutate", "column", "reason", "original"), CASES)
def test_strict_mode_rejects_the_whole_batch(
    client: Client, make_predictions, counts, mutate, column: str, reason: str, original: Any
) -> None:
    client.log(MODEL, make_predictions(4, prefix="earlier"))
    before = counts()
    frame = mutate(make_predictions(6))
    expected = (
        f"strict mode: the batch was rejected, nothing stored. Row 3, column {column!r}: {reason}"
    )
    with pytest.raises(ValidationError, match=re.escape(expected)):
        client.log(MODEL, frame, strict=True, on_new_columns="quarantine")
    assert counts() == before


def test_every_problem_of_a_row_is_named(client: Client, make_predictions, quarantined) -> None:
    frame = _set("p", np.nan)(_set("age", "forty")(make_predictions(4)))
    result = client.log(MODEL, frame)
    (row,) = quarantined(result.batch_id)
    assert row.column == "age, p"
    assert row.reason == (
        "Row 3, column 'age': expected a number, got 'forty'; "
        "Row 3, column 'p': missing value: the score is required"
    )


def test_strict_mode_is_atomic(client: Client, make_predictions, counts) -> None:
    client.log(MODEL, make_predictions(4, prefix="earlier"))
    before = counts()
    frame = make_predictions(100)
    frame["age"] = frame["age"].astype(object)
    frame.loc[90:, "age"] = "forty"  # 90 good rows first, then 10 bad ones
    with pytest.raises(ValidationError, match=re.escape("(and 5 more problems)")):
        client.log(MODEL, frame, strict=True)
    assert counts() == before


def test_unknown_model_rejects_the_batch(client: Client, make_predictions, counts) -> None:
    with pytest.raises(
        UnknownModelError, match=re.escape("unknown model 'nope'; registered: credit")
    ):
        client.log("nope", make_predictions(3))
    assert counts() == {"rows": 0, "quarantine": 0, "batches": 0}


@pytest.mark.parametrize("strict", [False, True])
def test_missing_required_column_rejects_the_batch(
    client: Client, make_predictions, counts, strict: bool
) -> None:
    frame = make_predictions(5).drop(columns="p")
    expected = (
        "the batch is missing required column(s) ['p'] (expected the schema's columns "
        "['id', 'ts', 'age', 'income', 'region', 'sex', 'yhat', 'p', 'y']; got "
        "['id', 'ts', 'age', 'income', 'region', 'sex', 'yhat', 'y'])"
    )
    with pytest.raises(IngestError, match=re.escape(expected)):
        client.log(MODEL, frame, strict=strict)
    assert counts() == {"rows": 0, "quarantine": 0, "batches": 0}


def test_unknown_column_with_on_new_columns_error_rejects(
    client: Client, make_predictions, counts
) -> None:
    frame = make_predictions(3).assign(extra=1.0)
    with pytest.raises(IngestError, match=re.escape("column(s) ['extra'] are not in the model's")):
        client.log(MODEL, frame, on_new_columns="error")
    assert counts() == {"rows": 0, "quarantine": 0, "batches": 0}


def test_exception_mid_batch_leaves_nothing_written(
    client: Client, make_predictions, counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.log(MODEL, make_predictions(3, prefix="earlier"))
    before = counts()
    first = _set("age", "forty")(make_predictions(50))  # one row for the quarantine too
    second = make_predictions(50, start=50)
    real_store_rows = bulk.store_rows
    calls = []

    def store_then_fail(*args: Any, **kwargs: Any) -> bulk.StoreOutcome:
        outcome = real_store_rows(*args, **kwargs)  # the rows are written, then ...
        calls.append(outcome)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return outcome

    monkeypatch.setattr(bulk, "store_rows", store_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_predictions([first, second], MODEL, url=client.url)
    assert [c.stored for c in calls] == [49, 50]  # both chunks reached the table
    assert counts() == before  # ... and were rolled back with quarantine and batch record

    monkeypatch.setattr(bulk, "store_rows", real_store_rows)
    result = ingest_predictions([first, second], MODEL, url=client.url)  # nothing left locked
    assert (result.rows, result.stored, result.quarantined) == (100, 99, 1)
    assert result.problems == [Problem(3, "age", "expected a number, got 'forty'")]


def test_row_numbers_continue_across_chunks(client: Client, make_predictions, quarantined):
    first = make_predictions(4)
    second = _set("age", "forty")(make_predictions(4, start=4))
    result = ingest_predictions([first, second], MODEL, url=client.url)
    assert [str(p) for p in result.problems] == [
        "Row 7, column 'age': expected a number, got 'forty'"
    ]
    (row,) = quarantined(result.batch_id)
    assert (row.row_number, row.prediction_id) == (7, "r6")


def test_timestamps_are_stored_as_utc(client: Client, make_predictions) -> None:
    frame = make_predictions(3)
    frame["ts"] = ["2024-03-01T01:00:00+01:00", "2024-03-01T00:00:00Z", "2024-03-01 00:00:00"]
    client.log(MODEL, frame)
    window = client.load_window(MODEL)
    assert (window["ts"] == pd.Timestamp("2024-03-01", tz="UTC")).all()


def test_records_are_accepted(client: Client, make_predictions) -> None:
    records = make_predictions(5).to_dict(orient="records")
    assert client.log(MODEL, records).stored == 5

"""Label backfill by prediction_id: unknown ids reported, conflicts never overwrite."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from monitors.collectors import Client
from monitors.errors import IngestError, ValidationError

MODEL = "credit"


def _labels(ids: list[str], values: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "y": values})


def _stored_labels(client: Client) -> pd.Series:
    window = client.load_window(MODEL, columns=["id", "y"])
    return window.set_index("id")["y"].sort_index()


def test_labels_by_id_and_unknown_ids_reported(
    client: Client, make_predictions, counts, quarantined
) -> None:
    client.log(MODEL, make_predictions(10).drop(columns="y"))
    labels = _labels(["r0", "r1", "ghost-1", "r2", "ghost-2"], [1, 0, 1, 1, 0])

    result = client.log_labels(MODEL, labels)

    assert (result.rows, result.updated, result.already_set) == (5, 3, 0)
    assert sorted(result.unknown_ids) == ["ghost-1", "ghost-2"]
    assert (result.conflicting_ids, result.quarantined) == ([], 2)
    rows = quarantined(result.batch_id)
    assert [(r.row_number, r.kind, r.prediction_id, r.column) for r in rows] == [
        (3, "unknown_id", "ghost-1", "id"),
        (5, "unknown_id", "ghost-2", "id"),
    ]
    assert rows[0].reason == "Row 3: no stored prediction has this prediction_id"
    assert json.loads(rows[1].values) == {"id": "ghost-2", "y": 0}
    stored = _stored_labels(client)
    assert stored[["r0", "r1", "r2"]].tolist() == [1, 0, 1]
    assert stored.drop(["r0", "r1", "r2"]).isna().all()
    assert str(stored.dtype) == "Int64"
    assert counts()["rows"] == 10


def test_resent_labels_are_already_set(client: Client, make_predictions) -> None:
    client.log(MODEL, make_predictions(5).drop(columns="y"))
    labels = _labels(["r0", "r1"], [1, 0])
    client.log_labels(MODEL, labels)
    again = client.log_labels(MODEL, labels)
    assert (again.updated, again.already_set, again.quarantined) == (0, 2, 0)


def test_a_different_label_is_a_conflict_and_not_overwritten(
    client: Client, make_predictions, quarantined
) -> None:
    client.log(MODEL, make_predictions(5).drop(columns="y"))
    client.log_labels(MODEL, _labels(["r0", "r1"], [1, 0]))

    result = client.log_labels(MODEL, _labels(["r0", "r1", "r2"], [0, 0, 1]))

    assert (result.updated, result.already_set) == (1, 1)
    assert result.conflicting_ids == ["r0"]
    (row,) = quarantined(result.batch_id)
    assert (row.kind, row.prediction_id, row.column, row.row_number) == ("conflict", "r0", "y", 1)
    assert row.reason == ("Row 1: a different label is already stored for this prediction_id; kept")
    assert _stored_labels(client)[["r0", "r1", "r2"]].tolist() == [1, 0, 1]


def test_labels_logged_with_the_predictions_conflict_too(client: Client, make_predictions):
    batch = make_predictions(3)
    client.log(MODEL, batch)
    flipped = 1 - int(batch.loc[0, "y"])
    result = client.log_labels(MODEL, _labels(["r0"], [flipped]))
    assert result.conflicting_ids == ["r0"]
    assert _stored_labels(client)["r0"] == batch.loc[0, "y"]


def test_invalid_labels_are_quarantined(client: Client, make_predictions, quarantined) -> None:
    client.log(MODEL, make_predictions(3).drop(columns="y"))
    result = client.log_labels(MODEL, _labels(["r0", "r1", "r1", None], [1, 5, 0, 1]))
    assert [str(p) for p in result.problems] == [
        "Row 2, column 'y': label outside the model's classes [0, 1]: got 5",
        "Row 3, column 'id': duplicate prediction_id 'r1' in the batch",
        "Row 4, column 'id': missing value: the id is required",
    ]
    assert (result.updated, result.quarantined) == (1, 3)
    assert [r.kind for r in quarantined(result.batch_id)] == ["invalid"] * 3


def test_strict_labels_with_an_unknown_id_store_nothing(client: Client, make_predictions):
    client.log(MODEL, make_predictions(3).drop(columns="y"))
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "strict mode: 1 label(s) rejected (unknown id), e.g. prediction_id 'ghost'; "
            "nothing stored"
        ),
    ):
        client.log_labels(MODEL, _labels(["r0", "ghost"], [1, 1]), strict=True)
    assert _stored_labels(client).isna().all()


def test_labels_with_other_column_names(client: Client, make_predictions) -> None:
    client.log(MODEL, make_predictions(3).drop(columns="y"))
    frame = pd.DataFrame({"request": ["r2"], "outcome": [1]})
    result = client.log_labels(MODEL, frame, id="request", label="outcome")
    assert result.updated == 1
    assert _stored_labels(client)["r2"] == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_label_file_missing_its_column_is_rejected(client: Client) -> None:
    frame = pd.DataFrame({"id": ["r0"], "outcome": [1]})
    with pytest.raises(
        IngestError,
        match=re.escape("the label file is missing column(s) ['y'] (got ['id', 'outcome'])"),
    ):
        client.log_labels(MODEL, frame)

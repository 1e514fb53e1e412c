"""The ingest policy under attack: implausible times, internal names, schema changes,
missing-value text, re-sent bad rows and late labels (issue 13 items 2, 3, 4, 10, 11;
issue 14 item 6). Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from monitors.collectors import Client
from monitors.collectors.files import ingest_file
from monitors.collectors.ingest import ingest_predictions
from monitors.errors import IngestError, ValidationError
from storage.engine import get_engine, session_scope
from storage.metrics import coerced_to_missing, ingest_totals, quarantine_counts
from storage.models import IngestBatch, QuarantinedRow
from storage.registry import get_model, load_reference

MODEL = "credit"
NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def _schema_and_columns(client: Client) -> tuple[list[str], list[str]]:
    """The model's schema names and its log table's physical columns."""
    engine = get_engine(client.url)
    with session_scope(engine) as session:
        table = get_model(session, MODEL).log_table
    return client.model(MODEL).schema.names, [c["name"] for c in inspect(engine).get_columns(table)]


# -- item 2: implausible timestamps -------------------------------------------------------


def test_implausible_timestamps_are_quarantined(client: Client, make_predictions, quarantined):
    frame = make_predictions(6).astype({"ts": object})
    frame.loc[0, "ts"] = "1900-01-01T00:00:00Z"
    frame.loc[1, "ts"] = "1999-12-31T23:59:59.999999Z"  # just before 2000-01-01
    frame.loc[2, "ts"] = "2999-01-01T00:00:00Z"
    frame.loc[3, "ts"] = (NOW + timedelta(days=1, microseconds=1)).isoformat()
    frame.loc[4, "ts"] = (NOW + timedelta(days=1)).isoformat()  # the bound itself is fine
    frame.loc[5, "ts"] = "2000-01-01T00:00:00Z"

    result = ingest_predictions([frame], MODEL, url=client.url, now=NOW)

    assert (result.stored, result.quarantined) == (2, 4)
    rows = {r.row_number: r for r in quarantined(result.batch_id)}
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[1].reason == (
        "Row 1, column 'ts': implausible timestamp '1900-01-01T00:00:00Z': before "
        "2000-01-01T00:00:00Z (the model's ingest policy min_timestamp)"
    )
    assert rows[3].reason == (
        "Row 3, column 'ts': implausible timestamp '2999-01-01T00:00:00Z': after "
        "2024-03-11T12:00:00Z (more than the model's ingest policy max_future after the "
        "time of ingest)"
    )
    assert json.loads(rows[1].values)["ts"] == "1900-01-01T00:00:00Z"
    assert set(client.load_window(MODEL)["id"]) == {"r4", "r5"}


def test_the_plausible_range_is_set_per_model(client: Client, make_predictions) -> None:
    frame = make_predictions(2).astype({"ts": object})
    frame.loc[0, "ts"] = "1990-06-01T00:00:00Z"
    frame.loc[1, "ts"] = (NOW + timedelta(days=20)).isoformat()
    client.configure(MODEL, ingest_policy={"min_timestamp": "1980-01-01", "max_future": "P30D"})
    assert client.model(MODEL).ingest_policy.max_future == timedelta(days=30)

    result = ingest_predictions([frame], MODEL, url=client.url, now=NOW)

    assert (result.stored, result.quarantined) == (2, 0)
    with pytest.raises(IngestError, match="invalid ingest policy"):
        client.configure(MODEL, ingest_policy={"max_future": "-P1D"})


# -- item 3: internal names ------------------------------------------------------------------

INTERNAL_NAMES = ["__row", "m_row", "m_labeled_at", "c_0", "c_1", "index", "level_0", "stage_1"]


def test_features_named_like_internal_columns_keep_their_values(database_url: str) -> None:
    rng = np.random.default_rng(3)
    n = 30
    frame = pd.DataFrame(
        {
            "id": [f"i{i}" for i in range(n)],
            "ts": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="h"),
            **{name: rng.normal(k, 1.0, n) for k, name in enumerate(INTERNAL_NAMES)},
            "yhat": rng.integers(0, 2, n),
        }
    )
    client = Client(database_url)
    client.register_model(
        "names",
        task="binary_classification",
        reference=frame,
        id="id",
        timestamp="ts",
        prediction="yhat",
    )
    later = frame.assign(id=[f"j{i}" for i in range(n)]).astype({"c_0": object})
    later.loc[4, "c_0"] = "bad"  # one quarantined row keeps the user's values too

    result = client.log("names", later)

    assert (result.stored, result.quarantined) == (n - 1, 1)
    stored = client.load_window("names").set_index("id").loc[later["id"].drop(4)]
    for name in INTERNAL_NAMES:
        np.testing.assert_array_equal(
            stored[name].to_numpy(dtype=float), later[name].drop(4).to_numpy(dtype=float)
        )
    with session_scope(get_engine(database_url)) as session:
        model = get_model(session, "names")
        bad = session.scalars(select(QuarantinedRow).where(QuarantinedRow.model_id == model.id))
        (row,) = list(bad)
        _, reference = load_reference(session, model) or (0, pd.DataFrame())
    assert json.loads(row.values)["__row"] == later.loc[4, "__row"]
    for name in INTERNAL_NAMES:
        np.testing.assert_array_equal(reference[name].to_numpy(), frame[name].to_numpy())


# -- item 4: the schema changes only when a batch is accepted, and only as asked ---------------


def test_unknown_columns_are_ignored_and_reported(client: Client, make_predictions) -> None:
    before = _schema_and_columns(client)
    result = client.log(MODEL, make_predictions(5).assign(ssn="123-45-6789"))
    assert (result.stored, result.ignored_columns, result.added_columns) == (5, ["ssn"], [])
    assert "columns not in the schema, ignored: ssn" in result.summary()
    assert _schema_and_columns(client) == before


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        pytest.param(lambda f: f.assign(p=1.5), ValidationError, id="strict-bad-score"),
        pytest.param(lambda f: f.drop(columns="p"), IngestError, id="missing-required"),
    ],
)
def test_a_rejected_batch_changes_no_schema(
    client: Client, make_predictions, counts, break_it, error
) -> None:
    client.log(MODEL, make_predictions(3, prefix="earlier"))
    before, rows_before = _schema_and_columns(client), counts()
    frame = break_it(make_predictions(5).assign(ssn="123-45-6789", extra=1.0))

    with pytest.raises(error):
        client.log(MODEL, frame, strict=True, add_columns=True)

    assert _schema_and_columns(client) == before
    assert counts() == rows_before


def test_add_columns_adds_them_with_the_batch(client: Client, make_predictions) -> None:
    result = client.log(
        MODEL, make_predictions(4).assign(tenure=["1", "2.5", "NA", ""]), add_columns=True
    )
    assert result.added_columns == ["tenure"]
    assert client.model(MODEL).schema.column("tenure").dtype.value == "float"
    assert client.load_window(MODEL)["tenure"].tolist()[:2] == [1.0, 2.5]


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_a_csv_with_another_separator_is_named(
    client: Client, make_predictions, tmp_path: Path, sep: str, name: str
) -> None:
    path = tmp_path / "predictions.csv"
    make_predictions(5).to_csv(path, index=False, sep=sep)
    before = _schema_and_columns(client)

    with pytest.raises(IngestError, match=rf"looks {name}-separated; pass --sep {name}"):
        ingest_file(client.url, MODEL, path, add_columns=True)

    assert _schema_and_columns(client) == before
    assert ingest_file(client.url, MODEL, path, sep=name).stored == 5
    frame = pd.read_csv(path, sep=",")  # the SDK: one column with the separator inside
    with pytest.raises(IngestError, match=f"looks {name}-separated"):
        client.log(MODEL, frame, add_columns=True)
    assert _schema_and_columns(client) == before


def test_duplicate_header_names_are_an_error(
    client: Client, make_predictions, tmp_path: Path
) -> None:
    frame = make_predictions(3)
    path = tmp_path / "dup.csv"
    text = frame.to_csv(index=False).splitlines()
    text[0] += ",income"
    path.write_text("\n".join([text[0], *(line + ",1" for line in text[1:])]) + "\n")
    before = _schema_and_columns(client)

    with pytest.raises(IngestError, match=re.escape("header names column(s) ['income'] more")):
        ingest_file(client.url, MODEL, path, add_columns=True)

    assert _schema_and_columns(client) == before  # no permanent income.1


# -- item 10: values that become missing are counted ------------------------------------------


def _csv(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "sent.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_value_text_is_counted_and_ids_are_kept(
    client: Client, make_predictions, tmp_path: Path
) -> None:
    frame = make_predictions(6).astype(object)
    frame.loc[0, "id"] = "NA"  # a valid id
    frame.loc[1, "region"] = "NA"
    frame.loc[2, "region"] = "null"
    frame.loc[3, "age"] = "NaN"
    frame.loc[4, "y"] = "None"
    path = _csv(frame, tmp_path)

    result = ingest_file(client.url, MODEL, path)
    again = ingest_file(client.url, MODEL, path)

    assert result.stored == 6 and result.quarantined == 0
    assert result.coerced_to_missing == {"age": 1, "region": 2, "y": 1}
    assert "missing-value text stored as missing: age 1, region 2, y 1" in result.summary()
    assert again.coerced_to_missing == {}  # nothing new stored, nothing new coerced
    stored = client.load_window(MODEL).set_index("id")
    assert "NA" in stored.index and stored.loc["NA", "region"] == frame.loc[0, "region"]
    assert stored.loc[["r1", "r2"], "region"].isna().all() and pd.isna(stored.loc["r3", "age"])
    with session_scope(get_engine(client.url)) as session:
        model = get_model(session, MODEL)
        assert coerced_to_missing(session, model) == {"age": 1, "region": 2, "y": 1}
        record = session.get(IngestBatch, result.batch_id)
        assert record is not None and json.loads(record.coerced_to_missing or "") == {
            "age": 1,
            "region": 2,
            "y": 1,
        }


def test_the_quarantine_keeps_the_original_text(
    client: Client, make_predictions, tmp_path: Path, quarantined
) -> None:
    frame = make_predictions(3).astype(object)
    frame.loc[1, "id"] = ""
    frame.loc[1, "region"] = "N/A"
    frame.loc[2, "age"] = "forty"
    frame.loc[2, "y"] = " null "
    result = ingest_file(client.url, MODEL, _csv(frame, tmp_path))
    rows = quarantined(result.batch_id)
    values = [json.loads(r.values) for r in rows]
    assert [(v["id"], v["region"]) for v in values][0] == ("", "N/A")
    assert (values[1]["age"], values[1]["y"]) == ("forty", " null ")


def test_which_text_counts_as_missing_is_configurable(
    client: Client, make_predictions, tmp_path: Path
) -> None:
    client.configure(MODEL, ingest_policy={"missing_values": ["?"]})
    frame = make_predictions(3).astype(object)
    frame.loc[0, "region"] = "NA"  # North America, now
    frame.loc[1, "region"] = "?"
    result = ingest_file(client.url, MODEL, _csv(frame, tmp_path))
    assert result.coerced_to_missing == {"region": 1}
    stored = client.load_window(MODEL).set_index("id")["region"]
    assert stored.loc["r0"] == "NA" and pd.isna(stored.loc["r1"])


# -- item 11: re-sending a file quarantines each bad row once ----------------------------------


def test_resending_quarantines_each_bad_row_once(
    client: Client, make_predictions, tmp_path: Path, counts
) -> None:
    client.log(MODEL, make_predictions(4, prefix="c"))
    frame = make_predictions(10).astype(object)
    for i in range(3):
        frame.loc[i, "age"] = f"bad{i}"
    conflict = make_predictions(4, prefix="c").astype(object)
    conflict.loc[0, "income"] = -1.0
    frame = pd.concat([frame, conflict.iloc[[0]]], ignore_index=True)
    path = _csv(frame, tmp_path)

    first = ingest_file(client.url, MODEL, path)
    second = ingest_file(client.url, MODEL, path)

    assert (first.quarantined, first.already_quarantined, first.conflicts) == (4, 0, 1)
    assert (second.quarantined, second.already_quarantined, second.conflicts) == (0, 4, 1)
    assert second.summary().endswith(
        "quarantined 0 (+4 already in quarantine) (of which 1 conflicting duplicates)"
    )
    assert counts()["quarantine"] == 4
    with session_scope(get_engine(client.url)) as session:
        model = get_model(session, MODEL)
        assert sum(quarantine_counts(session, model, start_us=0, end_us=2**62).values()) == 4
        assert ingest_totals(session, model)["quarantined"] == 4
        n_keys = session.scalar(
            select(func.count(func.distinct(QuarantinedRow.row_key))).where(
                QuarantinedRow.model_id == model.id
            )
        )
        assert n_keys == 4


def test_resent_unknown_labels_are_quarantined_once(client: Client, counts) -> None:
    labels = pd.DataFrame({"id": ["ghost1", "ghost2"], "y": [1, 0]})
    first, second = client.log_labels(MODEL, labels), client.log_labels(MODEL, labels)
    assert (first.quarantined, second.quarantined, second.already_quarantined) == (2, 0, 2)
    assert counts()["quarantine"] == 2


# -- issue 14 item 6: a missing label is news only if labels come with predictions -------------


def test_a_missing_label_is_silent_when_labels_come_later(client: Client, make_predictions):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = client.log(MODEL, make_predictions(3).drop(columns="y"))
    assert "y" not in result.missing_columns and "missing" not in result.summary()


def test_a_missing_label_warns_once_when_labels_come_with_predictions(
    database_url: str, make_predictions
) -> None:
    client = Client(database_url)
    client.register_model(
        "with_labels",
        task="binary_classification",
        reference=make_predictions(20, seed=4),
        id="id",
        timestamp="ts",
        prediction="yhat",
        label="y",
        labels_with_predictions=True,
    )
    with pytest.warns(UserWarning, match="schema says labels come with predictions") as caught:
        first = client.log("with_labels", make_predictions(3).drop(columns="y"))
        client.log("with_labels", make_predictions(3, start=3).drop(columns="y"))
    assert len(caught) == 1
    assert first.missing_columns == ["y"] and first.label_missing

"""Per-model log tables: hostile names, typed windows, schema evolution — on both databases."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.errors import SchemaConflictError, SchemaError
from storage.registry import get_model
from storage.schema import ColumnSpec, DType, Role

LONG_A = "a" * 63 + "_first1"  # 70 bytes; the first 63 equal PostgreSQL's identifier limit
LONG_B = "a" * 63 + "_second"
HOSTILE = {
    "select": "float",
    "xmin": "string",
    'x"; drop table model; --': "float",
    "Age": "float",
    "age": "float",
    LONG_A: "float",
    LONG_B: "string",
    "größe (µm) ✓ 温度": "float",
    "with space": "bool",
    "count": "int",
}
START = pd.Timestamp("2024-05-01", tz="UTC")


def _hostile_frame(n: int, *, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "prediction id": [f"{prefix}'{i}\"; --" for i in range(n)],  # hostile ids too
        "when": START + pd.to_timedelta(np.arange(n) * 17, unit="s"),
    }
    for name, kind in HOSTILE.items():
        if kind == "float":
            data[name] = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
        elif kind == "string":
            words = ["'; DROP TABLE model; --", 'quo"te', "ünïcødé ✓", "plain"]
            data[name] = pd.Series(rng.choice(words, n), dtype="str")
        elif kind == "bool":
            data[name] = rng.random(n) < 0.5
        else:
            data[name] = rng.integers(-(2**53), 2**53, n)  # beyond: see test_int64_*
    data["SELECT"] = rng.integers(0, 2, n)  # prediction; collides with "select" case-folded
    data["p"] = rng.random(n)
    return pd.DataFrame(data)


def _register(url: str) -> Client:
    client = Client(url)
    client.register_model(
        "hostile",
        task="binary_classification",
        reference=_hostile_frame(40, seed=1, prefix="ref"),
        id="prediction id",
        timestamp="when",
        prediction="SELECT",
        score="p",
    )
    return client


def _expected(frame: pd.DataFrame, window: pd.DataFrame) -> pd.DataFrame:
    expected = frame.copy()
    expected["prediction id"] = expected["prediction id"].astype(window["prediction id"].dtype)
    for name, kind in HOSTILE.items():
        if kind == "string":
            expected[name] = expected[name].astype(window[name].dtype)
        elif kind == "bool":
            expected[name] = expected[name].astype("boolean")
        elif kind == "int":
            expected[name] = expected[name].astype("Int64")
    expected["SELECT"] = expected["SELECT"].astype("Int64")
    return expected


def test_hostile_and_colliding_names_round_trip_exactly(database_url: str) -> None:
    client = _register(database_url)
    frame = _hostile_frame(300, seed=2, prefix="cur")

    result = client.log("hostile", frame)
    assert (result.stored, result.quarantined) == (300, 0)
    window = client.load_window("hostile")

    assert list(window.columns) == list(frame.columns)
    window = window.sort_values("when", ignore_index=True)
    pd.testing.assert_frame_equal(window, _expected(frame, window), check_exact=True)
    assert client.log("hostile", frame).already_present == 300

    engine = get_engine(database_url)
    inspector = inspect(engine)
    assert inspector.has_table("model")
    with session_scope(engine) as session:
        model = get_model(session, "hostile")
        log_name = model.log_table
        mapping = {c.name: c.physical for c in model.columns}
    assert re.fullmatch(r"log_\d+", log_name)
    physical = [c["name"] for c in inspector.get_columns(log_name)]
    assert all(re.fullmatch(r"c_\d+|m_[a-z_]+", name) for name in physical), physical
    assert set(mapping) == set(frame.columns)
    assert len(set(mapping.values())) == len(mapping)


def test_hostile_window_subset_of_columns(database_url: str) -> None:
    client = _register(database_url)
    frame = _hostile_frame(20, seed=3, prefix="c")
    client.log("hostile", frame)
    wanted = ["Age", "age", LONG_B, 'x"; drop table model; --']
    window = client.load_window("hostile", columns=wanted)
    assert list(window.columns) == wanted
    order = np.argsort(frame["Age"].to_numpy())
    got = window.sort_values("Age", ignore_index=True)
    np.testing.assert_array_equal(got["age"].to_numpy(), frame["age"].to_numpy()[order])
    assert got[LONG_B].tolist() == frame[LONG_B].to_numpy()[order].tolist()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", ['x"; drop table model; --', "", "a b", "ü", "a" * 129])
def test_hostile_model_names_are_refused(database_url: str, name: str) -> None:
    client = Client(database_url)
    reference = _hostile_frame(5, seed=0, prefix="r")
    with pytest.raises(SchemaError, match=re.escape(f"model name {name!r} is invalid")):
        client.register_model(
            name,
            task="binary_classification",
            reference=reference,
            id="prediction id",
            timestamp="when",
            prediction="SELECT",
        )
    assert client.models() == []


# -- load_window -----------------------------------------------------------------------


def _typed_client(url: str) -> Client:
    client = Client(url)
    reference = _typed_frame(10, start=0)
    client.register_model(
        "typed",
        task="multiclass_classification",
        reference=reference,
        id="id",
        timestamp="ts",
        prediction="pred",
        label="label",
        sensitive=["group"],
    )
    return client


def _typed_frame(n: int, *, start: int) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    idx = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": [f"t{i}" for i in idx],
            "ts": START + pd.to_timedelta(idx, unit="h"),
            "x": rng.normal(size=n),
            "k": rng.integers(0, 100, n),
            "flag": rng.random(n) < 0.5,
            "group": pd.Series(rng.choice(["a", "b"], n), dtype="str"),
            "pred": pd.Series(rng.choice(["cat", "dog", "eel"], n), dtype="str"),
            "label": pd.Series(rng.choice(["cat", "dog", "eel"], n), dtype="str"),
        }
    )


def test_load_window_returns_the_schema_dtypes(database_url: str) -> None:
    client = _typed_client(database_url)
    frame = _typed_frame(24, start=0)
    frame = frame.astype({"k": "Int64", "flag": "boolean"})
    for name in ["x", "k", "flag", "group", "label"]:
        frame.loc[0, name] = None
    assert client.log("typed", frame).stored == 24

    window = client.load_window("typed").sort_values("ts", ignore_index=True)

    assert window["x"].dtype == np.float64
    assert window["k"].dtype == pd.Int64Dtype()
    assert window["flag"].dtype == pd.BooleanDtype()
    for name in ["id", "group", "pred", "label"]:
        assert pd.api.types.is_string_dtype(window[name].dtype), name
        assert isinstance(window[name].dtype, pd.StringDtype), name
    assert window["ts"].dtype == pd.DatetimeTZDtype("us", "UTC")
    first = window.iloc[0]
    assert np.isnan(first["x"])
    assert all(pd.isna(first[c]) for c in ["k", "flag", "group", "label"])
    assert window["ts"].tolist() == frame["ts"].tolist()


def test_load_window_is_half_open(database_url: str) -> None:
    client = _typed_client(database_url)
    client.log("typed", _typed_frame(72, start=0))  # hourly from START, three days
    start = START + pd.Timedelta(hours=10)
    end = START + pd.Timedelta(hours=34)

    window = client.load_window("typed", start, end)

    assert len(window) == 24
    assert window["ts"].min() == start  # start included
    assert window["ts"].max() == end - pd.Timedelta(hours=1)  # end excluded
    # the same instant given in another time zone, and naive (= UTC)
    other = client.load_window(
        "typed", start.tz_convert("America/New_York").isoformat(), end.tz_localize(None)
    )
    assert sorted(other["id"]) == sorted(window["id"])
    assert len(client.load_window("typed", end=start)) == 10
    assert len(client.load_window("typed", start=end)) == 72 - 34
    assert client.load_window("typed", end, start).empty


def test_int64_values_round_trip_exactly(database_url: str) -> None:
    """Integers beyond 2**53 must not pass through float64 on the way in or out."""
    client = _typed_client(database_url)
    frame = _typed_frame(4, start=0)
    frame["k"] = np.array([2**53 + 1, -(2**62) - 7, 2**62 + 1, 12345], dtype=np.int64)
    client.log("typed", frame)
    window = client.load_window("typed").sort_values("ts", ignore_index=True)
    assert window["k"].tolist() == frame["k"].tolist()


# -- schema evolution -------------------------------------------------------------------


def test_a_new_column_is_added_nullable(database_url: str) -> None:
    client = _typed_client(database_url)
    client.log("typed", _typed_frame(5, start=0))
    newer = _typed_frame(5, start=5).assign(tenure=np.arange(5) * 1.5, channel="web")

    result = client.log("typed", newer, add_columns=True)

    assert result.added_columns == ["tenure", "channel"]
    schema = client.model("typed").schema
    tenure = ColumnSpec(name="tenure", role=Role.FEATURE, dtype=DType.FLOAT)
    assert schema.column("tenure") == tenure
    assert schema.column("channel").dtype is DType.STRING
    window = client.load_window("typed").sort_values("ts", ignore_index=True)
    assert window["tenure"].iloc[:5].isna().all()
    assert window["channel"].iloc[:5].isna().all()
    assert window["tenure"].iloc[5:].tolist() == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert window["channel"].iloc[5:].tolist() == ["web"] * 5


def test_a_type_conflict_changes_nothing(database_url: str) -> None:
    client = _typed_client(database_url)
    client.log("typed", _typed_frame(5, start=0))
    before = client.model("typed").schema
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        table = get_model(session, "typed").log_table
    columns_before = [c["name"] for c in inspect(engine).get_columns(table)]

    with pytest.raises(
        SchemaConflictError,
        match=re.escape("model 'typed', column 'x': stored as feature float; got feature string"),
    ):
        client.add_columns(
            "typed",
            [
                ColumnSpec(name="fresh", role=Role.FEATURE, dtype=DType.FLOAT),  # valid, first
                ColumnSpec(name="x", role=Role.FEATURE, dtype=DType.STRING),
            ],
        )

    assert client.model("typed").schema == before
    assert [c["name"] for c in inspect(engine).get_columns(table)] == columns_before
    assert len(client.load_window("typed")) == 5
    assert (
        client.add_columns("typed", [ColumnSpec(name="x", role=Role.FEATURE, dtype=DType.FLOAT)])
        == before
    )  # the same type again is no change

"""POST predictions and labels to a real ``driftwarden serve`` process, in every media type.

What is stored is read back through the SDK, so the HTTP path is checked against the
same ingest (idempotent by id, quarantine with reasons, strict, one transaction).
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import func, select

from monitors.collectors import Client
from storage.engine import get_engine, session_scope
from storage.models import IngestBatch, QuarantinedRow
from tests.monitors.service.support import MODEL, Keys, Server, json_rows, predictions

PRED = f"/v1/models/{MODEL}/predictions"
LABELS = f"/v1/models/{MODEL}/labels"


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as an Arrow IPC stream."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def encode(frame: pd.DataFrame, kind: str) -> tuple[bytes, str]:
    """A body of ``frame`` in one of the four media types, and its Content-Type."""
    if kind == "json":
        return json.dumps(json_rows(frame)).encode(), "application/json"
    if kind == "ndjson":
        lines = [json.dumps(r) for r in json_rows(frame)]
        return ("\n".join(lines) + "\n").encode(), "application/x-ndjson"
    if kind == "csv":
        out = frame.copy()
        out["ts"] = out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        return out.to_csv(index=False).encode(), "text/csv; charset=utf-8"
    return arrow_bytes(frame), "application/vnd.apache.arrow.stream"


def stored_ids(url: str, prefix: str) -> list[str]:
    """Stored prediction ids starting with ``prefix``, sorted."""
    frame = Client(url).load_window(MODEL, columns=["id"])
    return sorted(i for i in frame["id"] if str(i).startswith(prefix))


def quarantined(url: str, prefix: str) -> int:
    with session_scope(get_engine(url)) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(QuarantinedRow)
                .where(QuarantinedRow.prediction_id.like(f"{prefix}%"))
            )
            or 0
        )


def batches(url: str) -> int:
    with session_scope(get_engine(url)) as session:
        return int(session.scalar(select(func.count()).select_from(IngestBatch)) or 0)


@pytest.mark.parametrize("kind", ["json", "ndjson", "csv", "arrow"])
def test_each_media_type_stores_rows_once(
    server: Server, keys: Keys, service_url: str, kind: str
) -> None:
    frame = predictions(40, prefix=f"{kind}-", seed=3)
    body, media = encode(frame, kind)
    with server.client(keys.ingest) as http:
        first = http.post(PRED, content=body, headers={"Content-Type": media})
        again = http.post(PRED, content=body, headers={"Content-Type": media})
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["rows"], summary["stored"], summary["quarantined"]) == (40, 40, 0)
    assert again.json()["already_present"] == 40 and again.json()["stored"] == 0
    window = Client(service_url).load_window(MODEL)
    mine = window[window["id"].str.startswith(f"{kind}-")].sort_values("id")
    expected = frame.sort_values("id")
    assert mine["id"].tolist() == expected["id"].tolist()
    np.testing.assert_allclose(mine["age"].to_numpy(float), expected["age"].to_numpy(float))
    assert (mine["ts"].to_numpy() == expected["ts"].to_numpy()).all()
    assert mine["region"].tolist() == expected["region"].tolist()


def test_gzip_body_is_decoded(server: Server, keys: Keys, service_url: str) -> None:
    body, media = encode(predictions(10, prefix="gz-"), "ndjson")
    with server.client(keys.ingest) as http:
        response = http.post(
            PRED,
            content=gzip.compress(body),
            headers={"Content-Type": media, "Content-Encoding": "gzip"},
        )
    assert response.status_code == 200, response.text
    assert len(stored_ids(service_url, "gz-")) == 10


def test_bad_rows_are_quarantined_with_reasons(
    server: Server, keys: Keys, service_url: str
) -> None:
    rows = json_rows(predictions(5, prefix="q-"))
    rows[1]["age"] = "forty"
    rows[3]["yhat"] = 7
    with server.client(keys.ingest) as http:
        response = http.post(PRED, json=rows)
        again = http.post(PRED, json=rows)
    summary = response.json()
    assert (summary["stored"], summary["quarantined"]) == (3, 2)
    problems = {(p["row"], p["column"]) for p in summary["problems"]}
    assert problems == {(2, "age"), (4, "yhat")}
    assert "expected a number, got 'forty'" in summary["problems"][0]["reason"]
    assert (again.json()["already_present"], again.json()["already_quarantined"]) == (3, 2)
    assert quarantined(service_url, "q-") == 2


def test_strict_rejects_the_whole_batch(server: Server, keys: Keys, service_url: str) -> None:
    rows = json_rows(predictions(5, prefix="strict-"))
    rows[2]["age"] = "old"
    with server.client(keys.ingest) as http:
        response = http.post(PRED, json=rows, params={"strict": "true"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("rejected-batch")
    assert "Row 3, column 'age'" in problem["detail"]
    assert stored_ids(service_url, "strict-") == []


MALFORMED = [
    ("application/json", b'[{"id": "m1", "ts": "2024-03-02T00:00:00Z"', "not valid JSON"),
    ("application/json", b'{"id": "m1"}', "expected a JSON array of objects"),
    ("application/json", b'[{"id": "m1", "age": NaN}]', "NaN is not a JSON number"),
    ("application/json", b'[{"id": "m1", "age": {"v": 1}}]', "Row 1, column 'age'"),
    ("application/json", b'[{"id": "m1", "id": "m2"}]', "appear twice"),
    ("application/json", b'[{"id": "m1", "region": "a\\u0000b"}]', "NUL character"),
    ("application/json", b'[{"id": "m1", "age": 1e999999}]', "Infinity"),
    ("application/x-ndjson", b'{"id": "m1"}\n{"id": "m2"}\n{"id": \n', "Row 3 (line 3)"),
    ("text/csv", b"id,ts\nm1,2024-03-02,extra,cells\n", "cannot be read"),
    ("text/csv", b"id;ts;age\nm1;2024-03-02;3\n", "semicolon-separated"),
    ("text/csv", b"id,id\nm1,m2\n", "more than once"),
    ("application/vnd.apache.arrow.stream", b"\xff\xff\xff\xff\x10\x00", "Arrow IPC stream"),
]


@pytest.mark.parametrize(("media", "body", "message"), MALFORMED)
def test_a_malformed_body_stores_nothing(
    server: Server, keys: Keys, service_url: str, media: str, body: bytes, message: str
) -> None:
    before = batches(service_url)
    with server.client(keys.ingest) as http:
        response = http.post(PRED, content=body, headers={"Content-Type": media})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]
    assert batches(service_url) == before
    assert stored_ids(service_url, "m") == []


def test_a_truncated_arrow_stream_stores_nothing(
    server: Server, keys: Keys, service_url: str
) -> None:
    body = arrow_bytes(predictions(100, prefix="trunc-"))
    with server.client(keys.ingest) as http:
        response = http.post(
            PRED,
            content=body[: len(body) - 200],
            headers={"Content-Type": "application/vnd.apache.arrow.stream"},
        )
    assert response.status_code == 400
    assert stored_ids(service_url, "trunc-") == []


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Content-Type": "application/xml"}, "'application/xml' is not accepted"),
        ({}, "Content-Type none"),
        ({"Content-Type": "application/json", "Content-Encoding": "br"}, "'br'"),
    ],
)
def test_unknown_media_is_415(
    server: Server, keys: Keys, headers: dict[str, str], fragment: str
) -> None:
    with server.client(keys.ingest) as http:
        response = http.post(PRED, content=b"[]", headers=headers)
    assert response.status_code == 415
    assert fragment in response.json()["detail"]
    assert "text/csv" in response.headers["accept-post"] or "br" in fragment


def test_unknown_model_is_404(server: Server, keys: Keys) -> None:
    with server.client(keys.ingest) as http:
        response = http.post("/v1/models/nope/predictions", json=[])
    assert response.status_code == 404
    assert response.json()["detail"].startswith("unknown model 'nope'")


def test_missing_required_column_rejects_the_batch(server: Server, keys: Keys) -> None:
    rows = json_rows(predictions(3, prefix="nocol-").drop(columns=["yhat"]))
    with server.client(keys.ingest) as http:
        response = http.post(PRED, json=rows)
    assert response.status_code == 422
    assert "yhat" in response.json()["detail"]


def test_labels_backfill(server: Server, keys: Keys, service_url: str) -> None:
    frame = predictions(6, prefix="lab-")
    labels = [{"id": f"lab-{i}", "y": i % 2} for i in range(6)]
    labels.append({"id": "lab-unknown", "y": 1})
    with server.client(keys.ingest) as http:
        assert http.post(PRED, json=json_rows(frame)).status_code == 200
        first = http.post(
            LABELS,
            content="\n".join(json.dumps(r) for r in labels),
            headers={"Content-Type": "application/x-ndjson"},
        )
        conflicting = http.post(LABELS, json=[{"id": "lab-0", "y": 1}])
        renamed = http.post(
            LABELS,
            content=b"pid,truth\nlab-1,1\n",
            headers={"Content-Type": "text/csv"},
            params={"id": "pid", "label": "truth"},
        )
    summary = first.json()
    assert (summary["stored"], summary["unknown_total"]) == (6, 1)
    assert summary["unknown_ids"] == ["lab-unknown"]
    assert conflicting.json()["conflicting_ids"] == ["lab-0"]
    assert renamed.json()["already_present"] == 1
    window = Client(service_url).load_window(MODEL)
    got = window.set_index("id").loc[[f"lab-{i}" for i in range(6)], "y"].tolist()
    assert got == [i % 2 for i in range(6)]


def test_source_names_the_key(server: Server, keys: Keys, service_url: str) -> None:
    with server.client(keys.ingest) as http:
        batch = http.post(PRED, json=json_rows(predictions(1, prefix="src-"))).json()["batch_id"]
    with session_scope(get_engine(service_url)) as session:
        assert session.get(IngestBatch, batch).source == "http:ingester"  # type: ignore[union-attr]


def test_csv_missing_value_text_follows_the_model_policy(
    server: Server, keys: Keys, service_url: str
) -> None:
    body = b"id,ts,age,region,sex,yhat,p\nna-1,2024-03-02T00:00:00Z,NA,north,F,1,0.5\n"
    with server.client(keys.ingest) as http:
        response = http.post(PRED, content=body, headers={"Content-Type": "text/csv"})
    assert response.json()["coerced_to_missing"] == {"age": 1}
    window = Client(service_url).load_window(MODEL)
    assert window.set_index("id").loc["na-1", "age"] != window.set_index("id").loc["na-1", "age"]


def test_arrow_keeps_types(server: Server, keys: Keys, service_url: str) -> None:
    frame = predictions(5, prefix="arrow-types-")
    frame["region"] = frame["region"].astype("category")  # a dictionary column
    body = arrow_bytes(frame)
    with server.client(keys.ingest) as http:
        response = http.post(
            PRED, content=body, headers={"Content-Type": "application/vnd.apache.arrow.stream"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 5
    stream = io.BytesIO(arrow_bytes(frame.assign(extra=[[1]] * 5)))
    with server.client(keys.ingest) as http:
        nested = http.post(
            PRED,
            content=stream.getvalue(),
            headers={"Content-Type": "application/vnd.apache.arrow.stream"},
        )
    assert nested.status_code == 400
    assert "column 'extra'" in nested.json()["detail"]

"""The OpenAPI document at /openapi.json, and a property-based fuzz of the served API.

The fuzz is schemathesis 4 against the real process: every operation of the served
document, positive and negative examples (bounded by ``FUZZ_EXAMPLES``), half of them on
the registered model with rows that look like its schema (so validation, quarantine
and storage run, not only the 404 path). Checks: no 5xx, every status and content type
and every documented header and body as the document says.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.monitors.service.support import MODEL, Keys, Server

#: Examples per operation and generation mode (positive, negative); ~1 minute in all.
FUZZ_EXAMPLES = int(os.environ.get("DRIFTWARDEN_FUZZ_EXAMPLES", "20"))
#: ``DRIFTWARDEN_FUZZ_RANDOM=1`` draws new examples each run (default: the same, fixed seed).
RANDOM = os.environ.get("DRIFTWARDEN_FUZZ_RANDOM") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MEDIA = {
    "application/json",
    "application/x-ndjson",
    "text/csv",
    "application/vnd.apache.arrow.stream",
}


@schemathesis.serializer("application/x-ndjson", "text/csv", "application/vnd.apache.arrow.stream")
def _raw(ctx: object, value: Any) -> bytes:
    """Bodies documented as strings are sent as their bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def test_the_document(server: Server) -> None:
    with server.client() as http:
        doc = http.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) == {
        "/v1/models",
        "/v1/models/{name}",
        "/v1/models/{name}/predictions",
        "/v1/models/{name}/labels",
        "/v1/models/{name}/metrics",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    for route in ("predictions", "labels"):
        post = paths[f"/v1/models/{{name}}/{route}"]["post"]
        assert set(post["requestBody"]["content"]) == MEDIA
        assert {"200", "400", "401", "403", "404", "413", "415", "422", "503"} <= set(
            post["responses"]
        )
        assert post["responses"]["413"]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
        assert post["security"] == [{"apiKey": []}]
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["apiKey"]["description"],
    }
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    metrics = paths["/v1/models/{name}/metrics"]["get"]
    assert [p["name"] for p in metrics["parameters"]] == [
        "name",
        "from",
        "to",
        "analyzer",
        "metric",
        "feature",
    ]
    assert "security" not in paths["/healthz"]["get"]
    assert "Retry-After" in paths["/readyz"]["get"]["responses"]["503"]["headers"]


def _rows() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Rows that look like the ``credit`` schema: good, bad and odd values."""
    text = st.text(max_size=12)
    when = st.one_of(
        st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat()),
        text,
        st.integers(),
    )
    number = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), text)
    row = st.fixed_dictionaries(
        {
            "id": st.one_of(text, st.integers()),
            "ts": when,
            "yhat": st.one_of(st.integers(-1, 2), text, st.none()),
            "p": st.one_of(st.floats(-1, 2), text),
        },
        optional={
            "age": st.one_of(number, st.none()),
            "region": st.one_of(text, st.none(), st.booleans()),
            "sex": st.one_of(st.sampled_from(["F", "M"]), text),
            "y": st.one_of(st.integers(-1, 2), text),
            "extra": text,
        },
    )
    return st.lists(row, max_size=8)


def _fuzz(
    operation: Any,
    mode: Any,
    base: str,
    headers: dict[str, str],
    seen: dict[str, set[int]],
) -> None:
    """Run one operation's examples of one generation mode (failures raise)."""
    strategy = operation.as_strategy(generation_mode=mode)
    positive = mode == schemathesis.GenerationMode.POSITIVE
    labels = operation.label.endswith("/labels")

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, on_model=st.booleans(), rows=_rows())
    def run(case: Any, on_model: bool, rows: list[dict[str, Any]]) -> None:
        if on_model and "name" in (case.path_parameters or {}):
            case.path_parameters["name"] = MODEL
            if case.body is not None and positive:
                case.media_type = "application/json"
                case.body = [{"id": r["id"], "y": r.get("y", 1)} for r in rows] if labels else rows
        response = case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
        seen.setdefault(operation.label, set()).add(response.status_code)

    run()


def test_fuzz_the_served_api(server: Server, keys: Keys) -> None:
    """No 5xx, and every response as documented (schemathesis, bounded examples)."""
    schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
    headers = {"Authorization": f"Bearer {keys.admin}"}
    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, server.base, headers, seen)
            except Unsatisfiable:  # nothing to negate (no parameters, no body)
                continue
            except Exception as exc:  # collect every operation's first failure
                failures.append(f"{operation.label} [{mode.name}]: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
    ingest = seen["POST /v1/models/{name}/predictions"]
    assert 200 in ingest and {400, 422} & ingest, seen  # rows were stored and refused

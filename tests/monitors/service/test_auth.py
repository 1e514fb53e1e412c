"""API keys: scopes, model restriction, revocation, and keys never in the logs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from monitors.cli import app
from monitors.service.keys import KeyChecker, create_key, hash_secret, list_keys, revoke_key
from storage.engine import get_engine, session_scope
from storage.models import ApiKey
from tests.monitors.service.support import MODEL, Keys, Server, json_rows, predictions

PRED = f"/v1/models/{MODEL}/predictions"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer", 401),
        ("Basic dXNlcjpwYXNz", 401),
        ("Bearer dwk_000000000000_" + "A" * 43, 401),
        ("Bearer not-a-key", 401),
    ],
)
def test_no_valid_key_is_401(server: Server, header: str | None, status: int) -> None:
    headers = {"Authorization": header} if header else {}
    with server.client() as http:
        for method, path in [("GET", "/v1/models"), ("POST", PRED), ("GET", "/metrics")]:
            response = http.request(method, path, headers=headers, json=[])
            assert response.status_code == status, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.headers["content-type"] == "application/problem+json"


def test_a_wrong_secret_of_a_real_key_is_401(server: Server, keys: Keys) -> None:
    forged = keys.admin[:-4] + ("AAAA" if not keys.admin.endswith("AAAA") else "BBBB")
    with server.client(forged) as http:
        assert http.get("/v1/models").status_code == 401


@pytest.mark.parametrize(
    ("key", "method", "path", "status"),
    [
        ("ingest", "GET", "/v1/models", 403),
        ("ingest", "GET", f"/v1/models/{MODEL}/metrics", 403),
        ("read", "POST", PRED, 403),
        ("read", "GET", "/v1/models", 200),
        ("admin", "GET", "/v1/models", 200),
        ("admin", "POST", PRED, 200),
        ("read_credit", "GET", f"/v1/models/{MODEL}", 200),
        ("read_credit", "GET", "/v1/models/other", 403),
        ("ingest_other", "POST", PRED, 403),
        ("ingest_other", "POST", "/v1/models/other/predictions", 404),
    ],
)
def test_scope_and_model(
    server: Server, keys: Keys, key: str, method: str, path: str, status: int
) -> None:
    with server.client(getattr(keys, key)) as http:
        response = http.request(method, path, json=[])
    assert response.status_code == status, response.text


def test_a_restricted_key_lists_only_its_model(
    server: Server, keys: Keys, service_url: str
) -> None:
    from tests.monitors.service.support import register

    register(service_url, "zeta")
    with server.client(keys.read_credit) as http:
        assert [m["name"] for m in http.get("/v1/models").json()] == [MODEL]
    with server.client(keys.read) as http:
        assert [m["name"] for m in http.get("/v1/models").json()] == [MODEL, "zeta"]


def test_revoked_key_is_refused_at_its_next_request(server: Server, service_url: str) -> None:
    key = create_key(service_url, "short-lived", scope="read").key
    with server.client(key) as http:
        assert http.get("/v1/models").status_code == 200
        revoke_key(service_url, "short-lived")
        assert http.get("/v1/models").status_code == 401


def test_only_a_salted_hash_is_stored(service_url: str) -> None:
    one = create_key(service_url, "hash-a", scope="ingest")
    two = create_key(service_url, "hash-b", scope="ingest")
    with session_scope(get_engine(service_url)) as session:
        rows = {r.name: r for r in session.scalars(select(ApiKey))}
    for created in (one, two):
        row = rows[created.info.name]
        secret = created.key.split("_", 2)[2]
        assert secret not in (row.secret_hash, row.salt, row.key_id)
        assert row.secret_hash == hash_secret(secret, bytes.fromhex(row.salt)).hex()
    assert rows["hash-a"].salt != rows["hash-b"].salt
    checker = KeyChecker(service_url)
    assert checker.authenticate(one.key).name == "hash-a"
    assert checker.authenticate(one.key).name == "hash-a"  # remembered, still checked


def test_keys_cli(service_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        app,
        [
            "keys",
            "create",
            "cli-key",
            "--scope",
            "read",
            "--model",
            MODEL,
            "--database-url",
            service_url,
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"dwk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    listed = runner.invoke(app, ["keys", "list", "--database-url", service_url])
    line = next(x for x in listed.stdout.splitlines() if x.startswith("cli-key"))
    assert key not in listed.stdout and key[:16] in line and "active" in line
    again = runner.invoke(
        app, ["keys", "create", "cli-key", "--scope", "read", "--database-url", service_url]
    )
    assert again.exit_code == 1 and "exists already" in again.stderr
    bad = runner.invoke(
        app, ["keys", "create", "x", "--scope", "root", "--database-url", service_url]
    )
    assert bad.exit_code == 1 and "expected one of ingest, read, admin" in bad.stderr
    revoked = runner.invoke(app, ["keys", "revoke", "cli-key", "--database-url", service_url])
    assert revoked.exit_code == 0
    assert any(k.name == "cli-key" and k.revoked_at for k in list_keys(service_url))
    missing = runner.invoke(app, ["keys", "revoke", "nope", "--database-url", service_url])
    assert missing.exit_code == 1 and "no key called 'nope'" in missing.stderr


def test_keys_never_reach_the_log(service_url: str, keys: Keys, workdir: Path) -> None:
    """Access log and debug log on: no key, secret or bearer token is ever printed."""
    server = Server(service_url, workdir, "--log-level", "debug")
    try:
        secrets = [keys.ingest, keys.read, keys.admin, "dwk_0123456789ab_" + "x" * 43]
        for key in secrets:
            with server.client(key) as http:
                http.get("/v1/models")
                http.post(PRED, json=json_rows(predictions(2, prefix="log-")))
                http.get("/metrics")
                http.get(f"/v1/models/{MODEL}/metrics", params={"from": "not-a-date"})
        log = server.log()
    finally:
        server.stop()
    assert '"POST /v1/models/credit/predictions HTTP/1.1" 200' in log  # the access log is on
    for key in secrets:
        assert key not in log
        assert key.split("_", 2)[2] not in log
    assert "Bearer" not in log and "authorization" not in log.lower()

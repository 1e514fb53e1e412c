"""``driftwarden alerts …`` under Typer's CliRunner, and the secret sentinel test."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import T0, add_model, add_window
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from monitors.alerts.engine import evaluate_rules
from monitors.alerts.outbox import deliver
from monitors.cli.alerts import alerts_app
from storage.engine import get_engine, session_scope
from storage.models import AlertSeries

runner = CliRunner()

RULES = """
channels:
  hook: {type: webhook, url_env: TEST_HOOK_URL, secret_env: TEST_HOOK_SECRET}
  chat: {type: slack, webhook_url_env: TEST_SLACK_URL}
  mail: {type: email, to: [oncall@example.com]}
rules:
  - {name: psi-high, model: credit, metric: psi, feature: "*", op: ">", threshold: 0.2,
     channels: [hook, chat, mail]}
"""


def cli(url: str, *args: str):
    return runner.invoke(alerts_app, [*args, "--database-url", url])


@pytest.fixture
def env(sqlite_db, http_server, smtp_server, monkeypatch, tmp_path):
    monkeypatch.setenv("TEST_HOOK_URL", http_server.url("/hook"))
    monkeypatch.setenv("TEST_HOOK_SECRET", "secret")
    monkeypatch.setenv("TEST_SLACK_URL", http_server.url("/slack"))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    return sqlite_db, rules, http_server, smtp_server


@pytest.fixture
def sqlite_db(tmp_path: Path):
    from storage.engine import dispose_all

    yield f"sqlite:///{tmp_path / 'cli.db'}"
    dispose_all()


def test_cli_workflow(env) -> None:
    url, rules, http, smtp = env
    result = cli(url, "apply", str(rules))
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 unchanged, 0 disabled; 3 channels." in result.stdout
    engine = get_engine(url)
    mid = add_model(engine)
    add_window(engine, mid, 0, {("psi", "age", ""): 0.5})
    evaluate_rules(engine, now=T0)
    listed = cli(url, "list")
    assert "psi-high: credit psi feature=* > 0.2 for 1 severity=warning" in listed.stdout
    assert "age: firing since 2026-03-01T00:00:00+00:00" in listed.stdout
    history = cli(url, "history", "--model", "credit")
    assert "psi-high credit age ok -> firing window 2026-03-01T00:00:00+00:00.." in history.stdout
    outbox = cli(url, "outbox")
    assert outbox.stdout.count(" pending ") == 3
    delivered = cli(url, "deliver")
    assert delivered.exit_code == 0
    assert "Delivered 3, retrying 0, dead 0, deferred 0." in delivered.stdout
    assert len(http.ok_requests()) == 2 and len(smtp.messages) == 1
    assert cli(url, "outbox").stdout.strip() == "Outbox: nothing pending/dead."
    with session_scope(engine) as session:
        series_id = session.scalars(select(AlertSeries.id)).one()
    acked = cli(url, "ack", str(series_id), "--by", "alice")
    assert acked.stdout.strip() == f"Series {series_id} acknowledged by alice."
    silenced = cli(
        url, "silence", "psi-high", "--until", "2h", "--reason", "deploy", "--author", "bob"
    )
    assert silenced.exit_code == 0 and "rule psi-high silenced until" in silenced.stdout
    tested = cli(url, "test", "hook")
    assert tested.exit_code == 0, tested.output
    assert http.requests[-1].path == "/hook"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ack", "999"], "Error: Ack: alert series 999 does not exist.\n"),
        (
            ["silence", "nope", "--until", "2h", "--reason", "x"],
            "Error: Silence: rule 'nope' does not exist.\n",
        ),
        (
            ["silence", "psi-high", "--until", "yesterday", "--reason", "x"],
            "Error: --until 'yesterday': expected an ISO 8601 date like 2026-02-03 or "
            "2026-02-03T10:00Z\n",
        ),
        (["test", "pager"], "Error: Channel 'pager' does not exist; apply a rule file first.\n"),
    ],
)
def test_cli_errors_are_one_line(env, args: list[str], message: str) -> None:
    url, rules, _, _ = env
    assert cli(url, "apply", str(rules)).exit_code == 0
    result = cli(url, *args)
    assert (result.exit_code, result.stderr) == (1, message)


def test_cli_bad_rule_file(env, tmp_path: Path) -> None:
    url, rules, _, _ = env
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace('op: ">"', 'op: "=>"'))
    result = cli(url, "apply", str(bad))
    assert result.exit_code == 1
    assert result.stderr == ("Error: Rule 'psi-high': op must be one of >, >=, <, <=; got '=>'.\n")


SENTINEL = "S3NT1NEL-9f2c"


def test_secrets_never_leak(
    database_url: str, http_server, smtp_tls_server, monkeypatch, caplog, tmp_path
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_tls_server.password = SENTINEL
    monkeypatch.setenv("DRIFTWARDEN_SMTP_PASSWORD", SENTINEL)
    monkeypatch.setenv("TEST_HOOK_URL", http_server.url(f"/hook?token={SENTINEL}"))
    monkeypatch.setenv("TEST_HOOK_SECRET", SENTINEL)
    monkeypatch.setenv("TEST_SLACK_URL", http_server.url(f"/services/{SENTINEL}"))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    outputs = [cli(database_url, "apply", str(rules)).output]
    engine = get_engine(database_url)
    mid = add_model(engine)
    add_window(engine, mid, 0, {("psi", "age", ""): 0.5})
    evaluate_rules(engine, now=T0)
    # failures of every kind, so that error texts are stored
    http_server.mode = "500"
    smtp_tls_server.reject_code = 451
    deliver(engine, now=T0)
    outputs.append(cli(database_url, "test", "chat").output)
    outputs.append(cli(database_url, "test", "mail").output)
    http_server.stop()
    smtp_tls_server.stop()
    deliver(engine, now=T0 + timedelta(hours=3))
    outputs.append(cli(database_url, "test", "hook").output)
    http_server.start()
    smtp_tls_server.start()
    smtp_tls_server.reject_code = None
    http_server.mode = "ok"
    deliver(engine, now=T0 + timedelta(hours=6))
    for command in (
        ["outbox", "--status", "pending", "--status", "dead", "--status", "delivered"],
        ["list"],
        ["history"],
    ):
        outputs.append(cli(database_url, *command).output)
    # everything was eventually delivered, with the secret used where it belongs
    assert len(http_server.ok_requests()) == 2 and len(smtp_tls_server.messages) == 1
    assert (smtp_tls_server.user, SENTINEL) in smtp_tls_server.logins
    errors_seen = " ".join(outputs)
    assert "HTTP 500" in errors_seen or "SMTP 451" in errors_seen
    # the database, every table
    dump: list[str] = []
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            dump.extend(repr(tuple(row)) for row in conn.execute(table.select()))
    assert len(dump) > 5
    assert SENTINEL not in "\n".join(dump)
    assert SENTINEL not in errors_seen
    assert SENTINEL not in caplog.text
    assert all(SENTINEL not in r.getMessage() for r in caplog.records)

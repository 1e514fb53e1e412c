"""deploy/ cannot rot: parse compose.yaml, the systemd units and the Dockerfile, and run the
exact ``driftwarden`` commands they name (with this venv's ``driftwarden``) against a
fresh local PostgreSQL database.

Images cannot be built here, so the container parts are checked as text (slim base,
non-root user, WeasyPrint's Debian packages) and every command is run as the container
or unit would run it. Two substitutions only: ``--port`` gets a free port and a bind
address of ``0.0.0.0`` becomes ``127.0.0.1`` (tests listen on loopback only).
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.monitors.service.support import DRIFTWARDEN, free_port, pg_database, register

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
UNIT_BIN = "/opt/driftwarden/venv/bin/driftwarden"
START_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture
def empty_pg(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (``db upgrade`` has real work to do)."""
    yield from pg_database(postgres_server_url, None)


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name)
    return parser


def _expand(text: str) -> str:
    """Compose's ``${VAR:-default}`` with the defaults (the environment is not the host's)."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m[1], m[2]), text)


def _local(args: list[str]) -> list[str]:
    """The command with a free port and loopback instead of ``0.0.0.0`` (see the module)."""
    out = [_expand(a) for a in args]
    for i, arg in enumerate(out[:-1]):
        if arg == "--port":
            out[i + 1] = str(free_port())
        if arg in ("--host", "--address") and out[i + 1] == "0.0.0.0":
            out[i + 1] = "127.0.0.1"
    return out


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DRIFTWARDEN_DATABASE_URL": url}


def _run(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DRIFTWARDEN), *args],
        env=_env(url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _serve_until(args: list[str], url: str, cwd: Path, probe: str) -> str:
    """Start a long-running command, wait until ``probe`` (a path) answers 200, stop it."""
    args = _local(args)
    port = args[args.index("--port") + 1]
    log = cwd / f"{args[0]}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(DRIFTWARDEN), *args], env=_env(url), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
    # uvicorn re-raises SIGTERM after a clean shutdown; systemd and Docker count that as success
    assert code in (0, -signal.SIGTERM), log.read_text()
    return log.read_text()


def test_compose_file(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "serve", "runner", "dashboard"}
    assert "pgdata" in compose["volumes"]
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("serve", "runner", "dashboard"):
        service = services[name]
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert service["image"] == "driftwarden:latest"
        url = service["environment"]["DRIFTWARDEN_DATABASE_URL"]
        assert url.startswith("postgresql://driftwarden:") and "@postgres:5432/" in url
    assert services["runner"]["command"] == ["run", "--every", "15m"]
    assert services["serve"]["command"][0] == "serve"
    assert services["dashboard"]["volumes"] == [
        "./secrets.toml:/home/driftwarden/.streamlit/secrets.toml:ro"
    ]
    assert (DEPLOY / "env.example").is_file()


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1\d-slim", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"):
        assert package in text
    assert 'ENTRYPOINT ["driftwarden"]' in text
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in text
    for folder in ("app", "monitors", "storage"):
        assert f"COPY {folder} ./{folder}" in text


@pytest.mark.postgres
def test_compose_commands_run(compose: dict[str, Any], empty_pg: str, tmp_path: Path) -> None:
    services = compose["services"]
    upgrade = _run(services["migrate"]["command"], empty_pg, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "at revision" in upgrade.stdout
    register(empty_pg)
    _serve_until(services["serve"]["command"], empty_pg, tmp_path, "/readyz")
    _serve_until(services["dashboard"]["command"], empty_pg, tmp_path, "/_stcore/health")
    runner = subprocess.Popen(
        [str(DRIFTWARDEN), *_local(services["runner"]["command"])],
        env=_env(empty_pg),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert runner.stdout is not None
    first = runner.stdout.readline()  # the first pass runs at once, then it waits 15 minutes
    assert first.startswith("analysed "), first
    runner.send_signal(signal.SIGTERM)
    output, _ = runner.communicate(timeout=60)
    assert runner.returncode == 0, first + output
    assert "stopped" in output


def test_systemd_units() -> None:
    serve = _unit("driftwarden-serve.service")
    run = _unit("driftwarden-run.service")
    timer = _unit("driftwarden-run.timer")
    for unit in (serve, run):
        assert unit["Service"]["User"] == "driftwarden"
        assert unit["Service"]["EnvironmentFile"] == "/etc/driftwarden/env"
        assert unit["Service"]["ExecStart"].startswith(UNIT_BIN + " ")
    assert serve["Service"]["Restart"] == "on-failure"
    assert serve["Install"]["WantedBy"] == "multi-user.target"
    assert run["Service"]["Type"] == "oneshot"
    assert timer["Timer"]["Unit"] == "driftwarden-run.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    calendar = timer["Timer"]["OnCalendar"]
    assert calendar == "*:0/15"
    analyze = shutil.which("systemd-analyze")
    if analyze:
        checked = subprocess.run([analyze, "calendar", calendar], capture_output=True, check=False)
        assert checked.returncode == 0, checked.stderr
    if shutil.which("systemd-analyze") and os.environ.get("DRIFTWARDEN_VERIFY_UNITS"):
        subprocess.run(["systemd-analyze", "verify", *DEPLOY.glob("systemd/*")], check=True)


def _unit_command(unit: configparser.ConfigParser, key: str) -> list[str]:
    words = shlex.split(unit["Service"][key])
    assert words[0] == UNIT_BIN
    return words[1:]


@pytest.mark.postgres
def test_systemd_commands_run(empty_pg: str, tmp_path: Path) -> None:
    serve = _unit("driftwarden-serve.service")
    run = _unit("driftwarden-run.service")
    upgrade = _run(_unit_command(serve, "ExecStartPre"), empty_pg, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    register(empty_pg)
    _serve_until(_unit_command(serve, "ExecStart"), empty_pg, tmp_path, "/readyz")
    one_pass = _run(_unit_command(run, "ExecStart"), empty_pg, tmp_path)
    assert one_pass.returncode == 0, one_pass.stderr

"""``driftwarden dashboard``: start the Streamlit app in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl

#: The Streamlit entry point: ``app/main.py`` next to the ``monitors`` package.
ENTRY = Path(__file__).resolve().parent.parent.parent / "app" / "main.py"


def dashboard(
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
    address: Annotated[
        str, typer.Option(help="Bind address (localhost unless OIDC login is configured).")
    ] = "127.0.0.1",
    database_url: DatabaseUrl = None,
) -> None:
    """Start the Streamlit dashboard."""
    env = dict(os.environ)
    if database_url:
        env["DRIFTWARDEN_DATABASE_URL"] = database_url
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    typer.echo(f"dashboard on http://{'localhost' if address == '127.0.0.1' else address}:{port}")
    raise typer.Exit(subprocess.call(command, env=env))

"""``driftwarden dashboard``: serve the Streamlit app in this process, answering only known hosts.

The server is this process (Streamlit's ``st.App`` on uvicorn), so SIGTERM and SIGINT stop
it: uvicorn closes the listening socket, ends the sessions and the process exits — a
service manager or a script can stop it like any other server.

DNS rebinding: a web page on ``evil.example`` whose name is re-pointed at 127.0.0.1 could
otherwise read an unauthenticated local dashboard. Every HTTP and WebSocket request must
therefore carry a ``Host`` this dashboard is known by — ``localhost``, ``127.0.0.1``,
``[::1]``, the bind address, the host of the OIDC ``redirect_uri`` in
``.streamlit/secrets.toml`` and any ``--allowed-host`` — or it is refused with 400 before
reaching Streamlit (Starlette's ``TrustedHostMiddleware``, passed through ``st.App``'s
``middleware``; Streamlit's own ``server.allowedHosts`` checks only the WebSocket, and is
set too). Streamlit's CORS and XSRF protection stay on.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from monitors.cli.common import DATABASE_ENV, DatabaseUrl, database

#: The Streamlit entry point: ``app/main.py`` next to the ``monitors`` package.
ENTRY = Path(__file__).resolve().parent.parent.parent / "app" / "main.py"
#: Names of this machine a local browser uses.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = ("0.0.0.0", "::", "")


def _secrets_host() -> str | None:
    """The host of ``[auth] redirect_uri`` in ``.streamlit/secrets.toml`` (here or in ~)."""
    for folder in (Path.cwd(), Path.home()):
        path = folder / ".streamlit" / "secrets.toml"
        try:
            auth = tomllib.loads(path.read_text(encoding="utf-8")).get("auth") or {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        redirect = auth.get("redirect_uri") if isinstance(auth, dict) else None
        if isinstance(redirect, str) and urlsplit(redirect).hostname:
            return urlsplit(redirect).hostname
    return None


def allowed_hosts(address: str, extra: list[str]) -> list[str]:
    """The ``Host`` names the dashboard answers (lower case, without port), in order.

    Examples
    --------
    >>> allowed_hosts("127.0.0.1", ["Monitoring.Example.com"])[-1]
    'monitoring.example.com'
    """
    hosts = list(LOCAL_HOSTS)
    if address not in _WILDCARDS:
        hosts.append(f"[{address}]" if ":" in address else address)
    public = _secrets_host()
    names = [*([public] if public else []), *extra]
    hosts += [n.strip().lower().rstrip(".") for n in names if n and n.strip()]
    return list(dict.fromkeys(h.lower() for h in hosts))


def run_dashboard(*, port: int, address: str, hosts: list[str]) -> None:  # pragma: no cover
    """Run ``app/main.py`` on ``address:port`` until SIGTERM/SIGINT; only ``hosts`` answered."""
    import streamlit as st
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    sys.argv = [str(ENTRY)]  # what `streamlit run app/main.py` gives the script
    app = st.App(
        str(ENTRY),
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)],
    )
    config: dict[str, Any] = {
        "server.port": port,
        "server.address": address,
        "server.headless": True,
        "server.enableCORS": True,
        "server.enableXsrfProtection": True,
        "server.allowedHosts": [h.strip("[]") for h in hosts],
        "browser.gatherUsageStats": False,
    }
    app.run(config=config)


def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port the browser opens.")] = 8501,
    address: Annotated[
        str, typer.Option(help="Bind address (localhost unless OIDC login is configured).")
    ] = "127.0.0.1",
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another Host name the dashboard answers (repeatable), e.g. the name a "
            "reverse proxy forwards; localhost, 127.0.0.1 and the OIDC redirect host always are.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start the Streamlit dashboard (stop it with Ctrl-C or SIGTERM)."""
    url = database(database_url)
    os.environ[DATABASE_ENV] = url
    hosts = allowed_hosts(address, allowed_host or [])
    shown = "localhost" if address in ("127.0.0.1", *_WILDCARDS) else address
    typer.echo(
        f"dashboard on http://{shown}:{port} (answering Host {', '.join(hosts)}); "
        "Ctrl-C or SIGTERM stops it",
        err=True,
    )
    run_dashboard(port=port, address=address, hosts=hosts)

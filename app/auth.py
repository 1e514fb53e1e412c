"""Login (Streamlit's built-in OIDC, ``st.login``) and who may do what.

Login is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (see
``docs/dashboard.md``). Without it the dashboard refuses to serve any address other
than localhost. Auditor-only actions (report export) are restricted to the e-mail
addresses in ``[driftwarden] auditors = [...]`` when that list is set.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def _secrets() -> Mapping[str, Any]:
    """The secrets as a plain mapping (empty when there is no secrets file)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file, or one that cannot be parsed: no secrets
        return {}


def login_configured() -> bool:
    """Whether ``[auth]`` is configured for ``st.login``."""
    return bool(_secrets().get("auth"))


def server_is_local() -> bool:
    """Whether the server is bound to localhost only."""
    return str(st.get_option("server.address") or "") in LOCAL_ADDRESSES


def current_user() -> str:
    """The logged-in user's e-mail (or name), else the local OS user."""
    if login_configured() and st.user.is_logged_in:
        return str(st.user.get("email") or st.user.get("name") or "unknown")
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "local"


def auditors() -> list[str]:
    """Users allowed to export reports; empty means everyone who can open the dashboard."""
    listed = (_secrets().get("driftwarden") or {}).get("auditors") or []
    return [str(a).lower() for a in listed]


def may_export() -> bool:
    """Whether the current user may export reports."""
    allowed = auditors()
    return not allowed or current_user().lower() in allowed


def gate() -> None:
    """Ask for login when configured; refuse a non-local address without login.

    Stops the script run until the user is logged in.
    """
    if login_configured():
        if not st.user.is_logged_in:
            st.title("driftwarden")
            st.write("Log in to see the monitoring dashboard.")
            st.button("Log in", on_click=st.login, type="primary")
            st.stop()
        st.sidebar.caption(f"Signed in as {current_user()}")
        st.sidebar.button("Log out", on_click=st.logout)
    elif not server_is_local():
        st.error(
            "This dashboard is bound to a non-local address without login. Configure OIDC "
            "login in .streamlit/secrets.toml ([auth]) or start it with "
            "--server.address 127.0.0.1 (the default of `driftwarden dashboard`)."
        )
        st.stop()

"""Things the pages change: acknowledge, silence, export. Results show after the rerun."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from app import data
from app import format as fmt
from monitors.alerts import service
from monitors.errors import MonitorError

_FLASH = "dw_flash"


def _done(kind: str, message: str) -> None:
    st.session_state[_FLASH] = (kind, message)
    data.clear()
    st.rerun()


def show_flash() -> None:
    """Show (once) the outcome of the last action."""
    flash = st.session_state.pop(_FLASH, None)
    if flash is not None:
        kind, message = flash
        (st.success if kind == "ok" else st.error)(message)  # built with fmt.md


def acknowledge(url: str, series_id: int, *, by: str) -> None:
    """Acknowledge a firing series (repeats stop until it resolves)."""
    try:
        service.acknowledge(data.engine(url), series_id, by=by, now=datetime.now(UTC))
    except MonitorError as exc:
        st.error(fmt.md(exc))
        return
    _done("ok", f"Acknowledged alert series #{series_id} as {fmt.md(by)}.")


def silence(
    url: str, *, rule: str, until: datetime, reason: str, author: str, now: datetime
) -> None:
    """Silence a rule's notifications until a time."""
    try:
        service.add_silence(
            data.engine(url), rule=rule, until=until, reason=reason, author=author, now=now
        )
    except MonitorError as exc:
        st.error(fmt.md(exc))
        return
    _done("ok", f"Silenced '{fmt.md(rule)}' until {fmt.when(until)} UTC.")


def export_report(
    url: str,
    model: str,
    *,
    start: datetime,
    end: datetime,
    formats: list[str],
    sensitive: list[str] | None,
    created_by: str,
) -> None:
    """Export the fairness report and keep its files in the session for download."""
    import tempfile
    from pathlib import Path

    from monitors.reports.export import export_report as export
    from monitors.reports.signing import Signer

    try:
        with tempfile.TemporaryDirectory(prefix="driftwarden-report-") as tmp:
            result = export(
                url,
                model,
                start=start,
                end=end,
                out_dir=Path(tmp),
                formats=formats,  # type: ignore[arg-type]
                sensitive=sensitive,
                created_by=created_by,
                signer=Signer.from_env(),
            )
            files = [(p.name, p.read_bytes()) for p in result.files]
    except MonitorError as exc:
        st.error(fmt.md(exc))
        return
    st.session_state["dw_report_files"] = files
    _done(
        "ok",
        f"Exported report #{result.export_id} of '{fmt.md(model)}' "
        f"(content SHA-256 {result.report.content_sha256[:16]}…"
        f"{', signed' if result.signed else ''}).",
    )

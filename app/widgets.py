"""Widgets shared by the pages: model, period and drill-down pickers bound to the URL.

The view lives in the query string, ``?model=NAME&from=ISO&to=ISO`` (plus ``feature=``
or ``group=`` on drill-down pages), so a link from an alert opens the same view.
``to`` is the exclusive end of the period: windows with ``window_start >= from`` and
``window_end <= to`` are shown. The model is also remembered in the session, so it
survives moving between pages from the sidebar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from app import data
from app import format as fmt
from monitors import timeparse
from monitors.errors import ConfigError

DEFAULT_DAYS = 90
"""Default period: the last 90 days of analysed windows of the model."""

_MODEL_KEY = "dw_model"
_EMPTY_HELP = """\
**No models yet.** Register one and log its predictions, then run an analysis pass:

```bash
driftwarden demo                      # the lending demo: model `credit`, 60 analysed days
# or your own model
driftwarden models register NAME --reference reference.parquet --task binary_classification \\
    --id prediction_id --timestamp ts --prediction approved --score score --label repaid
driftwarden ingest NAME predictions.parquet
driftwarden run
```

In Python: `monitors.collectors.Client(url).register_model(...)` and `.log(...)`.
"""


def models(url: str) -> list[str]:
    """Registered model names; shows how to register one and stops the page when none is."""
    names = data.model_names(url)
    if not names:
        st.info(_EMPTY_HELP)
        st.stop()
    return names


def model_picker(names: Sequence[str]) -> str:
    """The model of the view: ``?model=`` if known, else the last one chosen, else the first.

    An unknown ``?model=`` shows an error naming the registered models and stops the page
    until another model is chosen.
    """
    options = list(names)
    requested = st.query_params.get("model")
    if requested is not None and requested not in options:
        st.error(
            f"Unknown model '{fmt.md(requested)}' in the link; registered models: "
            f"{fmt.names(options)}. Choose one in the sidebar."
        )
        choice = st.sidebar.selectbox("Model", options, index=None, key="dw_model_unknown")
        if choice is None:
            st.stop()
        st.query_params["model"] = choice
        st.session_state[_MODEL_KEY] = choice
        st.rerun()
    remembered = st.session_state.get(_MODEL_KEY)
    current = requested or (remembered if remembered in options else options[0])
    choice = st.sidebar.selectbox(
        "Model", options, index=options.index(current), key=f"dw_model_picker_{current}"
    )
    st.session_state[_MODEL_KEY] = choice
    st.query_params["model"] = choice
    return str(choice)


def _parse_param(name: str) -> datetime | None:
    """``?name=`` as an aware UTC time (:mod:`monitors.timeparse`); a bad value warns.

    A ``+`` of an offset that reached the page as a space (``+00:00`` not URL-encoded)
    is read as ``+``.
    """
    raw = st.query_params.get(name)
    if raw is None or raw == "":
        return None
    for text in (raw, raw.replace(" ", "+")):
        try:
            return timeparse.parse_time(text, option=name)
        except ConfigError:
            continue
    st.warning(
        f"Ignoring the '{name}' query parameter '{fmt.md(raw)}': expected an ISO 8601 "
        f"date or time such as {timeparse.ISO_EXAMPLE}. Showing the default period."
    )
    return None


def iso_param(value: datetime) -> str:
    """A time for the URL: ``2026-01-31`` at midnight UTC, else ``2026-01-31T08:30Z``."""
    value = value.astimezone(UTC)
    if value.time() == time():
        return value.strftime("%Y-%m-%d")
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ" if value.second else "%Y-%m-%dT%H:%MZ")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def period_picker(info: data.ModelInfo) -> tuple[datetime, datetime]:
    """The period of the view as ``(start, end)``, end exclusive, kept in ``from``/``to``.

    Defaults to the last :data:`DEFAULT_DAYS` days of the model's analysed windows.
    """
    last = info.last or _midnight(datetime.now(UTC).date())
    first = info.first or last - timedelta(days=DEFAULT_DAYS)
    start = _parse_param("from")
    end = _parse_param("to")
    if start is not None and end is not None and start >= end:
        st.warning(
            f"Ignoring the period {fmt.when(start)} – {fmt.when(end)} UTC: 'from' must be "
            "before 'to'. Showing the default period."
        )
        start = end = None
    end = end or last
    start = start or max(first, end - timedelta(days=DEFAULT_DAYS))
    shown_end = (end - timedelta(microseconds=1)).date()
    picked = st.sidebar.date_input(
        "Period (UTC days)",
        value=(start.date(), max(shown_end, start.date())),
        key=f"dw_period_{start.isoformat()}_{end.isoformat()}",
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        new_start, new_end = _midnight(picked[0]), _midnight(picked[1]) + timedelta(days=1)
        if (new_start.date(), new_end) != (start.date(), _midnight(shown_end) + timedelta(days=1)):
            start, end = new_start, new_end
    st.query_params["from"] = iso_param(start)
    st.query_params["to"] = iso_param(end)
    return start, end


def choice_param(
    label: str, options: Sequence[str], *, param: str, where: str, default: str | None = None
) -> str | None:
    """A drill-down choice kept in ``?param=``; an unknown value shows a warning.

    Without ``?param=`` the choice is ``default`` (if it is an option) or the first option.

    Returns ``None`` when there is nothing to choose from.
    """
    options = list(options)
    if not options:
        return None
    requested = st.query_params.get(param)
    if requested is not None and requested not in options:
        st.warning(
            f"Unknown {param} '{fmt.md(requested)}' in the link; {where}: {fmt.names(options)}."
        )
        requested = None
    if requested is None:
        requested = default if default in options else options[0]
    current = requested
    choice = st.selectbox(label, options, index=options.index(current), key=f"dw_{param}_{current}")
    st.query_params[param] = choice
    return str(choice)


def caption_period(model: str, start: datetime, end: datetime) -> None:
    """One line saying what is shown."""
    st.caption(f"Model **{fmt.md(model)}** · windows from {fmt.when(start)} to {fmt.when(end)} UTC")

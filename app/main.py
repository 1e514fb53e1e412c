"""Entry point of the dashboard: ``streamlit run app/main.py`` (or ``driftwarden dashboard``).

Builds the navigation (the overview is the default page at ``/``) and runs the chosen
page. Errors the pages expect (database unreachable, unknown model, bad settings) are
shown as a message, never as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from app import auth, data  # noqa: E402
from app import format as fmt  # noqa: E402
from monitors.errors import MonitorError  # noqa: E402
from storage.errors import DatabaseUnavailableError, StorageError  # noqa: E402

st.set_page_config(page_title="driftwarden", layout="wide")
auth.gate()
page = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("views/drift.py", title="Drift", icon=":material/trending_up:", url_path="drift"),
        st.Page("views/quality.py", title="Quality", icon=":material/rule:", url_path="quality"),
        st.Page(
            "views/performance.py",
            title="Performance",
            icon=":material/speed:",
            url_path="performance",
        ),
        st.Page(
            "views/fairness.py", title="Fairness", icon=":material/balance:", url_path="fairness"
        ),
        st.Page("views/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
        st.Page(
            "views/explanations.py",
            title="Explanations",
            icon=":material/psychology:",
            url_path="explanations",
        ),
        st.Page(
            "views/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"
        ),
        st.Page(
            "views/reports.py", title="Reports", icon=":material/description:", url_path="reports"
        ),
    ]
)
try:
    data.engine(data.database_url())  # connect (and migrate) before any page reads
    page.run()
except DatabaseUnavailableError as exc:
    st.error(f"The database cannot be reached. {fmt.md(exc)}")
    st.info("Check DRIFTWARDEN_DATABASE_URL (or --database-url) and that the server is running.")
except DBAPIError as exc:
    st.error(f"The database cannot be read: {type(exc.orig).__name__}: {fmt.md(exc.orig)}")
except (StorageError, MonitorError) as exc:
    st.error(fmt.md(exc))

"""Reports: export the fairness audit report, and verify an exported file."""

import streamlit as st

from app import actions, auth, data, widgets
from app import format as fmt

MIME = {
    "html": "text/html",
    "pdf": "application/pdf",
    "json": "application/json",
    "csv": "text/csv",
}

st.title("Fairness reports")
url = data.database_url()
model = widgets.model_picker(widgets.models(url))
info = data.model_info(url, model)
start, end = widgets.period_picker(info)
widgets.caption_period(model, start, end)
try:
    from monitors.reports.render import FORMATS
except ImportError as exc:  # the report package is optional at run time
    st.error(f"Report export is not available in this installation: {exc}")
    st.stop()
actions.show_flash()

st.subheader("Export")
if not info.sensitive:
    st.info(
        f"Model {fmt.md(model)} has no sensitive attributes: there is no fairness report to export."
    )
elif not auth.may_export():
    st.warning(
        f"Only auditors may export reports; {fmt.md(auth.current_user())} is not on the list "
        "([driftwarden] auditors in .streamlit/secrets.toml)."
    )
else:
    with st.form("export"):
        attributes = st.multiselect(
            "Sensitive attributes", list(info.sensitive), default=list(info.sensitive)
        )
        formats = st.multiselect("Formats", list(FORMATS), default=["html", "json"])
        st.caption(f"Period: {fmt.when(start)} – {fmt.when(end)} UTC (sidebar).")
        if st.form_submit_button("Export report", type="primary"):
            if not formats or not attributes:
                st.error("Choose at least one format and one attribute.")
            else:
                actions.export_report(
                    url,
                    model,
                    start=start,
                    end=end,
                    formats=formats,
                    sensitive=attributes,
                    created_by=auth.current_user(),
                )
for name, blob in st.session_state.get("dw_report_files", []):
    suffix = name.rsplit(".", 1)[-1]
    st.download_button(
        f"Download {fmt.md(name)}", blob, file_name=name, mime=MIME.get(suffix), key=f"dl_{name}"
    )

st.subheader("Verify a file")
uploaded = st.file_uploader(
    "An exported report (HTML, PDF, JSON or CSV)", type=["html", "pdf", "json", "csv"]
)
if uploaded is not None:
    result = data.verify_report(url, uploaded.getvalue(), uploaded.name)
    show = {"verified": st.success, "altered": st.error, "unknown": st.warning}[result.status]
    show(
        f"{fmt.md(uploaded.name)}: **{result.status}** "
        f"({fmt.md(result.format or 'unknown format')})"
    )
    for reason in result.reasons:
        st.markdown(f"- {fmt.md(reason)}")

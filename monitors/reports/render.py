"""Render an :class:`~monitors.reports.assemble.AuditReport` as JSON, HTML, PDF or CSV.

Every format carries the content SHA-256, and when a :class:`Signer` is given the
content signature and public key; HTML, PDF and CSV also carry a signature of their
own bytes (see :mod:`monitors.reports.signing`). Where the hash sits:

* JSON: top-level ``content_sha256`` (and ``signature``); the rest is the content;
* HTML: ``<meta name="driftwarden-sha256">`` and the visible footer (and every printed
  page's bottom margin); signature fields in ``driftwarden-signature``,
  ``driftwarden-public-key`` and ``driftwarden-file-signature`` meta elements;
* PDF: WeasyPrint from the same HTML, uncompressed so that the document information
  entries ``/Keywords (driftwarden-sha256:…)``, ``/driftwardensha256``,
  ``/driftwardensignature``, ``/driftwardenpublickey`` and
  ``/driftwardenfilesignature`` are readable as bytes; the hash is in the text too;
* CSV: header comment rows ``# content_sha256: …`` (and the other fields).

Numbers: JSON and CSV hold the canonical values (10 significant digits); HTML and PDF
show 4 decimals.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Final, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from monitors.reports.assemble import AuditReport
from monitors.reports.canonical import canonical_json
from monitors.reports.charts import Bar, bar_chart
from monitors.reports.findings import RATE_NAMES
from monitors.reports.signing import ALGORITHM, FILE_SIG_PLACEHOLDER, Signer
from monitors.spreadsheet import neutralise  # the one CSV formula guard (metrics export too)

Format = Literal["json", "html", "pdf", "csv"]
FORMATS: Final[tuple[Format, ...]] = ("html", "pdf", "json", "csv")

#: Per-group metrics shown in the first of a group's two tables (the others need labels).
_SELECTION_METRICS: Final = ("count", "selection_rate", "mean_prediction")

_env = Environment(
    loader=PackageLoader("monitors.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _num(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def _verdict(passed: bool | None) -> Markup:
    if passed is None:
        return Markup('<span class="na">undefined</span>')
    if passed:
        return Markup('<span class="pass">pass</span>')
    return Markup('<span class="fail">FAIL</span>')


_env.filters["num"] = _num
_env.filters["verdict"] = _verdict
_env.filters["rate"] = lambda rate: RATE_NAMES.get(rate, str(rate))


def _signature(report: AuditReport, signer: Signer | None) -> dict[str, str] | None:
    if signer is None:
        return None
    return {
        "algorithm": ALGORITHM,
        "public_key": signer.public_key,
        "content_signature": signer.sign_content(report.content_sha256),
    }


def render_json(report: AuditReport, *, signer: Signer | None = None) -> bytes:
    """The canonical JSON export: the content plus ``content_sha256`` (and ``signature``).

    Parameters
    ----------
    report : AuditReport
        The assembled report.
    signer : Signer, optional
        Adds ``signature`` = ``{algorithm, public_key, content_signature}``.

    Returns
    -------
    bytes
        Canonical UTF-8 JSON followed by a newline; the same report and key give the
        same bytes.
    """
    doc: dict[str, Any] = {**report.content, "content_sha256": report.content_sha256}
    sig = _signature(report, signer)
    if sig is not None:
        doc["signature"] = sig
    return canonical_json(doc) + b"\n"


def _feature_tables(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    features: dict[str, dict[str, Any]] = {}
    for g in content["groups"]:
        entry = features.setdefault(
            g["feature"],
            {
                "name": g["feature"],
                "intersectional": g["intersectional"],
                "groups": [],
                "metrics": list(g["metrics"]),
            },
        )
        entry["groups"].append(g)
    conf = content["parameters"]["bootstrap"]["confidence"]
    for entry in features.values():
        # two narrower tables instead of one wide one: every column fits a (landscape) page
        rates = [m for m in entry["metrics"] if m in _SELECTION_METRICS]
        labelled = [m for m in entry["metrics"] if m not in _SELECTION_METRICS]
        entry["tables"] = [part for part in (rates, labelled) if part]
        if "selection_rate" in entry["metrics"]:
            bars = [
                Bar(
                    label=g["group"],
                    value=g["metrics"]["selection_rate"]["value"],
                    ci_low=g["metrics"]["selection_rate"]["ci_low"],
                    ci_high=g["metrics"]["selection_rate"]["ci_high"],
                    flagged=g["insufficient_data"],
                )
                for g in entry["groups"]
            ]
            entry["chart"] = bar_chart(
                bars, title=f"Selection rate by group of {entry['name']} ({conf:.0%} interval)"
            )
        else:
            entry["chart"] = None
    return list(features.values())


def _impact_charts(content: Mapping[str, Any]) -> dict[str, list[Markup]]:
    tables = content["impact_ratios"]
    out: dict[str, list[Markup]] = {}
    for key in ("by_category", "by_intersectional_category"):
        by_feature: dict[str, list[Bar]] = {}
        for r in tables[key]:
            by_feature.setdefault(r["feature"], []).append(
                Bar(
                    label=r["category"],
                    value=r["impact_ratio"],
                    flagged=r["insufficient_data"] or r["passed"] is False,
                )
            )
        out[key] = [
            bar_chart(
                bars,
                title=f"Impact ratio by category of {feature}",
                reference=tables["four_fifths"],
                reference_label=f"{tables['four_fifths']:g}",
            )
            for feature, bars in by_feature.items()
        ]
    return out


def _html(report: AuditReport, sig: dict[str, str] | None) -> str:
    content = report.content
    disparities = content["disparities"]
    return _env.get_template("report.html.j2").render(
        c=content,
        p=content["parameters"],
        sha=report.content_sha256,
        sig=sig,
        file_slot=FILE_SIG_PLACEHOLDER.decode("ascii"),
        features=_feature_tables(content),
        impact_charts=_impact_charts(content),
        n_failed=sum(d["passed"] is False for d in disparities),
        n_undefined=sum(d["passed"] is None for d in disparities),
    )


def render_html(report: AuditReport, *, signer: Signer | None = None) -> bytes:
    """The self-contained HTML report (inline CSS and SVG, no scripts, no external URL).

    All text from the data (model, attribute and group names) is escaped by Jinja2's
    autoescape. With a ``signer`` the file signature fills the
    ``driftwarden-file-signature`` meta element.
    """
    data = _html(report, _signature(report, signer)).encode("utf-8")
    return signer.sign_file(data) if signer is not None else data


def render_pdf(report: AuditReport, *, signer: Signer | None = None) -> bytes:
    """The PDF report: WeasyPrint from the HTML, hash and signatures in the metadata."""
    from weasyprint import HTML  # slow import; only when a PDF is asked for

    html = _html(report, _signature(report, signer))
    data = HTML(string=html, base_url=None).write_pdf(uncompressed_pdf=True, custom_metadata=True)
    assert data is not None  # write_pdf without a target returns the bytes
    return signer.sign_file(data) if signer is not None else data


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(str(value))


def render_csv(report: AuditReport, *, signer: Signer | None = None) -> bytes:
    """The per-group table as CSV, with parameters and hash in ``#`` header rows.

    One row per group (each attribute and intersection): ``feature``, ``group``, one
    column per sensitive attribute with the group's value, ``n``, ``n_labelled``,
    ``insufficient_data``, then ``<metric>``, ``<metric>_ci_low``, ``<metric>_ci_high``
    for each metric. Header rows are single cells (``# key: value``; values as
    canonical JSON); text cells that start with ``=``, ``+``, ``-``, ``@``, tab or CR
    are prefixed with ``'`` (see :func:`neutralise`). UTF-8, CRLF line ends.
    """
    content = report.content
    params = content["parameters"]
    sig = _signature(report, signer)
    buf = io.StringIO()
    writer = csv.writer(buf)
    header: list[tuple[str, str]] = [
        ("report", content["title"]),
        ("content_sha256", report.content_sha256),
        ("software_version", content["software"]["driftwarden"]),
    ]
    header += [(key, canonical_json(params[key]).decode()) for key in sorted(params)]
    if sig is not None:
        header += [
            ("signature_algorithm", sig["algorithm"]),
            ("public_key", sig["public_key"]),
            ("signature", sig["content_signature"]),
            ("file_signature", FILE_SIG_PLACEHOLDER.decode("ascii")),
        ]
    for key, value in header:
        writer.writerow([f"# {key}: {value}"])
    attrs = list(params["sensitive_attributes"])
    metrics: list[str] = []
    for g in content["groups"]:
        metrics += [m for m in g["metrics"] if m not in metrics]
    columns = ["feature", "group", *attrs, "n", "n_labelled", "insufficient_data"]
    for m in metrics:
        columns += [m, f"{m}_ci_low", f"{m}_ci_high"]
    writer.writerow([neutralise(c) for c in columns])
    for g in content["groups"]:
        row: list[Any] = [g["feature"], g["group"], *(g["values"].get(a) for a in attrs)]
        row += [g["n"], g["n_labelled"], g["insufficient_data"]]
        for m in metrics:
            est = g["metrics"].get(m) or {}
            row += [est.get("value"), est.get("ci_low"), est.get("ci_high")]
        writer.writerow([_cell(v) for v in row])
    data = buf.getvalue().encode("utf-8")
    return signer.sign_file(data) if signer is not None else data


RENDERERS: Final = {
    "json": render_json,
    "html": render_html,
    "pdf": render_pdf,
    "csv": render_csv,
}

"""The demo's audit report as a person reads it: every table fits the PDF page, findings first.

The PDF is rendered once from the analysed lending demo (the cached database of
``conftest.py``) over its whole period. ``pypdf`` extracts text even where it lies
outside the page, so "fits" is checked on positions: every piece of text of every
page starts and (estimated from its length and font size) ends inside the page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from monitors.reports.export import ExportResult, export_report

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
#: Text is at least this wide per character (DejaVu Sans averages about 0.55 em), so
#: the estimated end of a run never lies beyond its true end.
MIN_EM_PER_CHAR = 0.4


class _Headers(HTMLParser):
    """Collects the text of every ``<th>`` of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "th":
            self.inside, self.text = True, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self.inside = False
            self.found.append(" ".join(self.text.split()))

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


@pytest.fixture(scope="module")
def demo_report(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    """HTML and PDF of the demo's fairness report over its whole period (on a copy)."""
    import shutil

    from storage.engine import dispose_all

    copy = tmp_path_factory.mktemp("db") / "demo.db"
    shutil.copyfile(demo_db, copy)
    try:
        return export_report(
            f"sqlite:///{copy}",
            "credit",
            start=START,
            end=END,
            out_dir=tmp_path_factory.mktemp("report"),
            formats=["html", "pdf"],
            created_by="test",
        )
    finally:
        dispose_all()


def _file(result: ExportResult, suffix: str) -> Path:
    [path] = [p for p in result.files if p.suffix == suffix]
    return path


def _pages(path: Path) -> tuple[list[str], list[tuple[int, float, float, str]]]:
    """Each page's text, and every text run that starts or ends outside its page."""
    texts, outside = [], []
    for number, page in enumerate(PdfReader(path).pages, start=1):
        width = float(page.mediabox.width)

        def visit(
            text: str,
            cm: list[float],
            tm: list[float],
            font: object,
            size: float,
            number: int = number,
            width: float = width,
        ) -> None:
            if not text.strip():
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            scale = abs(tm[0] * cm[0]) or 1.0
            end = x + MIN_EM_PER_CHAR * size * scale * len(text.strip())
            if x < 0 or end > width:
                outside.append((number, x, end, text.strip()[:40]))

        texts.append(page.extract_text(visitor_text=visit))
    return texts, outside


def test_every_table_column_fits_the_pdf_page(demo_report: ExportResult) -> None:
    parser = _Headers()
    parser.feed(_file(demo_report, ".html").read_text(encoding="utf-8"))
    headers = set(parser.found)
    assert {"fnr", "precision", "accuracy", "Excluded groups"} <= headers
    texts, outside = _pages(_file(demo_report, ".pdf"))
    flat = " ".join(" ".join(texts).split())
    assert [h for h in sorted(headers) if h not in flat] == []
    assert outside == [], f"{len(outside)} text runs outside the page, e.g. {outside[:5]}"
    reader = PdfReader(_file(demo_report, ".pdf"))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert width > height  # landscape


def test_first_page_states_the_findings_before_the_parameters(
    demo_report: ExportResult,
) -> None:
    content = demo_report.report.content
    texts, _ = _pages(_file(demo_report, ".pdf"))
    first = " ".join(texts[0].split())
    everything = " ".join(" ".join(texts).split())
    [group] = [f for f in content["findings"] if f["feature"] == "group"]
    # the demo's regression: group D is selected least (from the report's own groups)
    rates = {
        g["group"]: g["metrics"]["selection_rate"]["value"]
        for g in content["groups"]
        if g["feature"] == "group"
    }
    lowest, highest = min(rates, key=rates.__getitem__), max(rates, key=rates.__getitem__)
    assert group["group"] == lowest == "group=D"
    assert group["reference_group"] == highest
    sentence = (
        f"group: group=D has the lowest selection rate, {rates[lowest]:.4f} vs "
        f"{rates[highest]:.4f} for {highest} (ratio {rates[lowest] / rates[highest]:.2f})."
    )
    assert group["text"] == sentence
    assert sentence in first
    assert first.index("Findings") < first.index(sentence)
    assert "Parameters" not in first or first.index(sentence) < first.index("Parameters")
    failing = [d for d in content["disparities"] if d["passed"] is False]
    listed = [c for f in content["findings"] for c in f["failing"]]
    assert len(listed) == len(failing) > 0
    parameters = everything.index("Parameters Model")
    for check in listed:
        assert re.search(r"\d+ % interval \d\.\d{4}–\d\.\d{4}", check["text"]), check["text"]
        assert everything.index(check["text"]) < parameters, check["text"]

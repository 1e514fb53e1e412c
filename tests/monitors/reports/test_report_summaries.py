"""Reports from stored window summaries: the same content hash as from rows, after purge too.

The default pass keeps each analysed window's summary; a classification report over whole
analysed windows reads them instead of the rows (identical content), and falls back to the
rows whenever the summaries might not say the same (a window cut by the period, new rows
or labels since the pass, rows in windows without a summary, a regression task).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import typer
from report_helpers import MODEL, START, make_frame, register
from typer.testing import CliRunner

from monitors.analyzers.drift import DriftConfig
from monitors.analyzers.fairness import FairnessConfig
from monitors.cli.report import report_command
from monitors.collectors.client import Client
from monitors.errors import ReportError
from monitors.pipeline.run import run_pass
from monitors.reports.assemble import ReportInputs, assemble_report
from monitors.reports.export import gather_inputs, stored_fairness
from monitors.summaries.memory import summarize_frame
from monitors.summaries.spec import build_spec
from monitors.summaries.store import decode, decode_counts, encode, stored_counts, stored_summaries
from monitors.windows import load_window, purge
from storage.engine import get_engine, session_scope
from storage.registry import get_model, model_schema
from storage.schema import Task

NOW = datetime(2024, 3, 10, tzinfo=UTC)
END = datetime(2024, 3, 7, tzinfo=UTC)  # make_frame's rows lie in [START, START + 6 days)
CONFIG = FairnessConfig(n_bootstrap=20, seed=1)
app = typer.Typer()
app.command("report")(report_command)


@app.callback()
def _main() -> None:
    """Group callback, so that ``report`` is a subcommand as in the main CLI."""


def _register(url: str, *, store: bool = True) -> pd.DataFrame:
    """:data:`MODEL` with make_frame's rows (a few without label or sex), analysed."""
    frame = make_frame(n=600, seed=11)
    frame["label"] = pd.array(frame["label"], dtype="Int64")
    frame.loc[frame.index[::37], "label"] = pd.NA
    frame.loc[frame.index[3::41], "sex"] = None
    register(url, frame)
    config = {"drift": {"multivariate": False}, "summaries": {"store": store}}
    Client(url).configure(MODEL, config=config)
    run_pass(url=url, now=NOW, alerts=False)
    return frame


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database with the model analysed (summaries kept)."""
    url = "sqlite:///" + str(tmp_path / "dw.db")
    _register(url)
    yield url


def _row_inputs(url: str, inputs: ReportInputs) -> ReportInputs:
    """The same inputs with the period's rows in place of the summaries."""
    columns = list(inputs.frame.columns)
    frame = load_window(url, MODEL, inputs.start, inputs.end, columns=columns)
    return dataclasses.replace(inputs, frame=frame, summary=None)


@pytest.mark.parametrize("sensitive", [None, ["sex"], ["age_band"]])
def test_summary_path_gives_the_row_path_hash(url: str, sensitive: list[str] | None) -> None:
    inputs, _ = gather_inputs(url, MODEL, start=START, end=END)
    assert inputs.summary is not None and len(inputs.frame) == 0
    by_summary = assemble_report(inputs, config=CONFIG, sensitive=sensitive)
    rows = _row_inputs(url, inputs)
    assert len(rows.frame) == 600
    by_rows = assemble_report(rows, config=CONFIG, sensitive=sensitive)
    assert by_summary.content == by_rows.content
    assert by_summary.content_sha256 == by_rows.content_sha256
    data = by_summary.content["data"]
    assert data["n_rows"] == 600 and data["n_labelled"] == 600 - len(range(0, 600, 37))
    if sensitive != ["age_band"]:
        assert data["n_missing_sensitive"]["sex"] == len(range(3, 600, 41))


def test_every_window_keeps_its_summary(url: str) -> None:
    kept = stored_summaries(url, MODEL)
    assert len(kept) == 6 and {s.executor for _, _, s, _ in kept} == {"memory"}
    assert sum(s.n_rows for _, _, s, _ in kept) == 600


def test_counts_are_read_without_bins_and_sample(url: str) -> None:
    full = {start: summary for start, _, summary, _ in stored_summaries(url, MODEL)}
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        counts = stored_counts(session, model, start=START, end=END)
        schema = model_schema(model)
    assert [start for start, _, _ in counts] == sorted(full)
    for start, _, summary in counts:
        whole = full[start]
        assert (summary.fairness, summary.confusion) == (whole.fairness, whole.confusion)
        assert (summary.n_rows, summary.n_labelled) == (whole.n_rows, whole.n_labelled)
        assert summary.sample.keys == () and summary.numeric == ()
    tricky = make_frame(n=50, seed=5)
    tricky["sex"] = pd.array(['F,"sample":{"numeric":', ',"fairness":'] * 25, dtype="str")
    spec = build_spec(tricky, schema=schema, reference_version=1, drift=DriftConfig())
    data = summarize_frame(tricky, spec).to_json()
    parsed = decode_counts(encode(data))
    assert parsed == {
        k: v for k, v in data.items() if k not in {"numeric", "categorical", "sample"}
    }
    assert decode(encode(data)) == data


def _choice(url: str, start: datetime, end: datetime, task: Task | None = None) -> bool:
    """Whether the report of ``[start, end)`` reads summaries."""
    with session_scope(get_engine(url)) as session:
        model = get_model(session, MODEL)
        schema = model_schema(model)
        if task is not None:
            schema = schema.model_copy(update={"task": task})
        return stored_fairness(session, model, schema, start=start, end=end) is not None


def test_rows_are_read_when_summaries_might_differ(url: str) -> None:
    assert _choice(url, START, END)
    assert _choice(url, datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    assert not _choice(url, START, END, task=Task.REGRESSION)
    assert not _choice(url, datetime(2024, 3, 1, 12, tzinfo=UTC), END)  # cuts a window
    late = make_frame(n=5, seed=99).assign(id=lambda f: "late" + f["id"])
    late["ts"] = datetime(2024, 3, 3, 6, tzinfo=UTC)
    Client(url).log(MODEL, late)  # rows arrive in an analysed window: its summary is stale
    assert not _choice(url, START, END)
    assert _choice(url, START, datetime(2024, 3, 3, tzinfo=UTC))
    inputs, _ = gather_inputs(url, MODEL, start=START, end=END)
    assert inputs.summary is None and len(inputs.frame) == 605
    run_pass(url=url, now=NOW, alerts=False)  # labels/rows changed: re-analysed, re-summarised
    assert _choice(url, START, END)


def test_new_labels_make_a_summary_stale(url: str) -> None:
    frame = make_frame(n=600, seed=11)
    unlabelled = frame.iloc[::37]
    day = unlabelled[unlabelled["ts"] < datetime(2024, 3, 2, tzinfo=UTC)]
    Client(url).log_labels(MODEL, pd.DataFrame({"id": day["id"], "label": 1}))
    assert not _choice(url, START, END)
    assert _choice(url, datetime(2024, 3, 2, tzinfo=UTC), END)


def test_rows_in_a_window_without_summary_are_read(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "off.db")
    _register(url, store=False)
    assert stored_summaries(url, MODEL) == []
    assert not _choice(url, START, END)
    purge(url, MODEL, "2024-03-08")
    inputs, _ = gather_inputs(url, MODEL, start=START, end=END)
    with pytest.raises(ReportError, match="no logged rows"):
        assemble_report(inputs, config=CONFIG)


def _cli_report(url: str, out: Path) -> tuple[int, str, dict | None]:
    result = CliRunner().invoke(
        app,
        ["report", MODEL, "--from", "2024-03-01", "--to", "2024-03-07", "--format", "json"]
        + ["--out", str(out), "--database-url", url, "--created-by", "tester"],
    )
    if result.exit_code != 0:
        return result.exit_code, result.output, None
    [path] = [Path(line) for line in result.stdout.splitlines()]
    return 0, result.output, json.loads(path.read_bytes())


def test_cli_report_after_purge_has_the_same_hash(url: str, tmp_path: Path) -> None:
    code, output, before = _cli_report(url, tmp_path / "before")
    assert code == 0, output
    rows = load_window(url, MODEL, START, END)
    assert len(rows) == 600
    assert purge(url, MODEL, "2024-03-08") == 600
    assert load_window(url, MODEL, START, END).empty
    code, output, after = _cli_report(url, tmp_path / "after")
    assert code == 0, output
    assert before is not None and after is not None
    assert after["content_sha256"] == before["content_sha256"]
    assert after["data"]["n_rows"] == 600


def test_windows_of_two_reference_versions(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "two.db")
    frame = make_frame(n=600, seed=11)
    early = frame[frame["ts"] < datetime(2024, 3, 4, tzinfo=UTC)]
    register(url, early)
    client = Client(url)
    client.configure(MODEL, config={"drift": {"multivariate": False}})
    run_pass(url=url, now=datetime(2024, 3, 4, tzinfo=UTC), alerts=False)
    client.set_reference(MODEL, make_frame(n=300, seed=12))
    client.log(MODEL, frame[frame["ts"] >= datetime(2024, 3, 4, tzinfo=UTC)])
    run_pass(url=url, now=NOW, alerts=False)
    assert len({s.spec_sha256 for _, _, s, _ in stored_summaries(url, MODEL)}) == 2
    inputs, _ = gather_inputs(url, MODEL, start=START, end=END)
    assert inputs.summary is not None and inputs.summary.n_rows == 600
    by_rows = assemble_report(_row_inputs(url, inputs), config=CONFIG)
    assert assemble_report(inputs, config=CONFIG).content_sha256 == by_rows.content_sha256


def test_a_sensitive_column_added_later_reads_rows(url: str) -> None:
    from storage.schema import ColumnSpec

    assert _choice(url, START, END)
    purge(url, MODEL, datetime(2024, 3, 2, tzinfo=UTC))  # a purged window: summary only
    Client(url).add_columns(MODEL, [ColumnSpec(name="region", role="sensitive", dtype="string")])
    # the old summaries' fairness keys are (sex, age_band, label, prediction): read with the
    # new schema, "region" would take the label's place
    assert not _choice(url, datetime(2024, 3, 2, tzinfo=UTC), END)
    assert not _choice(url, START, END)


def test_overlapping_summaries_after_a_window_change_are_not_merged(url: str) -> None:
    Client(url).configure(MODEL, window="12h")
    run_pass(url=url, now=NOW, alerts=False)  # the second halves of the days: new windows
    kept = stored_summaries(url, MODEL)
    assert len(kept) > 6  # daily summaries and half-day ones over the same rows
    purge(url, MODEL, END)
    assert not _choice(url, START, END)


def test_a_damaged_summary_makes_the_report_read_rows(url: str) -> None:
    from sqlalchemy import update

    from storage.models import WindowSummaryRow

    with session_scope(get_engine(url)) as session:
        session.execute(update(WindowSummaryRow).values(data=b"not gzip"))
    assert not _choice(url, START, END)
    inputs, _ = gather_inputs(url, MODEL, start=START, end=END)
    assert inputs.summary is None and len(inputs.frame) == 600

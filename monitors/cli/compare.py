"""``driftwarden compare …``: define comparisons of a candidate model with a baseline, report them.

``compare add NAME --baseline A --candidate B --mode shadow|split [--split 0.5]`` defines
one; ``compare NAME [--from] [--to] [--format text|json|csv] [--out FILE]`` (short for
``compare show NAME``) prints or exports its windows and the period's verdict;
``compare list`` and ``compare remove NAME`` manage them. The windows are compared by
``driftwarden run`` (docs/compare.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from monitors.cli.common import (
    DatabaseUrl,
    Group,
    OutPath,
    WindowsFrom,
    WindowsTo,
    choice,
    database,
    errors,
    fail,
    parse_time,
    write_output,
)

SUBCOMMANDS = ("add", "show", "list", "remove")


class CompareGroup(Group):
    """``compare NAME …`` is ``compare show NAME …`` (a comparison called like a
    sub-command is reached with ``compare show``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert ``show`` before a first argument that is not a sub-command or option."""
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


compare_app = typer.Typer(
    help="Compare a candidate model with the baseline in production (shadow or split).",
    no_args_is_help=True,
)


@compare_app.command("add")
def compare_add(
    name: Annotated[str, typer.Argument(help="A unique name for the comparison.")],
    baseline: Annotated[str, typer.Option(help="The model in production.")],
    candidate: Annotated[str, typer.Option(help="The new model.")],
    mode: Annotated[
        str, typer.Option(help="shadow (both score the same requests) or split (A/B traffic).")
    ],
    split: Annotated[
        float | None, typer.Option(help="split mode: the candidate's share of traffic (0.5).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Significance level of the verdicts.")] = 0.05,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples per window.")] = 1000,
    min_rows: Annotated[int, typer.Option(help="Fewest rows for a verdict.")] = 30,
    primary_metric: Annotated[
        str | None,
        typer.Option(help="Metric of the overall verdict (default accuracy / mae)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Define a comparison; the next `driftwarden run` compares the analysed windows."""
    choice(mode, "--mode", ("shadow", "split"))
    url = database(database_url)
    from pydantic import ValidationError

    from monitors.compare import ComparisonConfig
    from monitors.compare.service import add_comparison

    try:
        config = ComparisonConfig(
            alpha=alpha, n_bootstrap=bootstrap, min_rows=min_rows, primary_metric=primary_metric
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        key = {"n_bootstrap": "bootstrap"}.get(str(err["loc"][0]), str(err["loc"][0]))
        raise fail(f"--{key.replace('_', '-')}: {err['msg']}") from exc
    with errors():
        info = add_comparison(
            url,
            name,
            baseline=baseline,
            candidate=candidate,
            mode=mode,
            split=split,
            config=config,
        )
    where = f"split {info.split:g} to the candidate" if info.split else "shadow"
    typer.echo(
        f"comparison {info.name!r}: candidate {info.candidate} vs baseline {info.baseline} "
        f"({where}); compared by the next 'driftwarden run'"
    )


@compare_app.command("show")
def compare_show(
    name: Annotated[str, typer.Argument(help="The comparison.")],
    from_: WindowsFrom = None,
    to: WindowsTo = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or csv.")] = "text",
    out: OutPath = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print or export a comparison: each window's verdict and the period's (pooled)."""
    choice(fmt, "--format", ("text", "json", "csv"))
    start, end = parse_time(from_, "--from"), parse_time(to, "--to")
    url = database(database_url)
    from monitors.compare.service import comparison_report, report_csv, report_json, report_text

    with errors():
        report = comparison_report(url, name, start=start, end=end)
    render = {"text": report_text, "json": report_json, "csv": report_csv}[fmt]
    write_output(render(report), out)


@compare_app.command("list")
def compare_list(database_url: DatabaseUrl = None) -> None:
    """List the comparisons: name, baseline, candidate, mode."""
    url = database(database_url)
    from monitors.compare.service import comparisons

    with errors():
        found = comparisons(url)
    if not found:
        typer.echo(
            "no comparisons yet: driftwarden compare add NAME --baseline A --candidate B "
            "--mode shadow|split"
        )
    for c in found:
        mode = f"split {c.split:g}" if c.split else c.mode
        typer.echo(f"{c.name}\tbaseline {c.baseline}\tcandidate {c.candidate}\t{mode}")


@compare_app.command("remove")
def compare_remove(
    name: Annotated[str, typer.Argument(help="The comparison.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a comparison and its stored results (the models are kept)."""
    url = database(database_url)
    from monitors.compare.service import remove_comparison

    with errors():
        gone = remove_comparison(url, name)
    typer.echo(f"removed comparison {name!r} and {gone} stored result(s)")

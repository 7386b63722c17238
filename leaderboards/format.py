"""How numbers read in every output (page, Markdown, LaTeX, CSV-free text): values, intervals, deltas, marks.

One place, so the page and the report tables print a value alike: 4 decimals; two-way identification as a
percentage with 2; an en dash for a missing value.
"""

from __future__ import annotations

from leaderboards.table import Column, Table

MISSING = "\u2013"
NOT_COMPARABLE = "not comparable to published numbers"


def format_value(value: float | None, column: Column) -> str:
    """4 decimals; identification scores as percentages with 2; an en dash when absent."""
    if value is None:
        return MISSING
    return f"{100 * value:.2f}%" if column.kind == "identification" else f"{value:.4f}"


def format_ci(ci95: tuple[float, float] | None, column: Column) -> str:
    """'[low, high]' in the value's units (percentage points for identification), '' when absent."""
    if ci95 is None:
        return ""
    if column.kind == "identification":
        return f"[{100 * ci95[0]:.2f}, {100 * ci95[1]:.2f}]"
    return f"[{ci95[0]:.4f}, {ci95[1]:.4f}]"


def format_diff(diff: float, column: Column) -> str:
    """A signed difference in the value's units: '+0.0123', '-1.25' (percentage points for identification)."""
    return f"{100 * diff:+.2f}" if column.kind == "identification" else f"{diff:+.4f}"


def direction_hint(column: Column) -> str:
    return f"{column.direction} is better"


def table_title(table: Table) -> str:
    return (
        f"{table.dataset_label} \u00b7 protocol {table.key.protocol} v{table.key.protocol_version} "
        f"\u00b7 weights {table.key.weights_source} \u00b7 {table.subject_label}"
    )


def warning_text(table: Table) -> str | None:
    """None for a comparable table, else the warning with its reasons (dataset, weights)."""
    if table.comparable_to_published:
        return None
    return f"{NOT_COMPARABLE}: {'; '.join(table.not_comparable_because)}"


def display_scale(column: Column) -> float:
    """Factor from a stored value to the unit it is shown in (identification scores in percent), for figures."""
    return 100.0 if column.kind == "identification" else 1.0

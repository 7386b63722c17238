"""How numbers and titles read, shared by every page and format: values, intervals, table titles, warnings."""

from __future__ import annotations

from leaderboards.table import Column, Table

NOT_COMPARABLE = "not comparable to published numbers"
DASH = "\u2013"


def format_value(value: float | None, column: Column) -> str:
    """4 decimals; identification scores as percentages with 2; an en dash when absent."""
    if value is None:
        return DASH
    return f"{100 * value:.2f}%" if column.kind == "identification" else f"{value:.4f}"


def format_ci(ci95: tuple[float, float] | None, column: Column) -> str:
    if ci95 is None:
        return ""
    if column.kind == "identification":
        return f"[{100 * ci95[0]:.2f}, {100 * ci95[1]:.2f}]"
    return f"[{ci95[0]:.4f}, {ci95[1]:.4f}]"


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


def direction_hint(column: Column) -> str:
    return f"{'higher' if column.direction == 'higher' else 'lower'} is better"


def display_scale(column: Column) -> float:
    """Factor from a stored value to the unit it is shown in (identification scores are shown in percent)."""
    return 100.0 if column.kind == "identification" else 1.0


def format_diff(diff: float, column: Column) -> str:
    """A signed difference: 4 decimals, or percentage points for identification scores."""
    return f"{100 * diff:+.2f} pp" if column.kind == "identification" else f"{diff:+.4f}"

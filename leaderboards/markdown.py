"""Grids as Markdown tables: best bold, second underlined, ablation deltas in parentheses."""

from __future__ import annotations

import html

from leaderboards.format import format_value
from leaderboards.grid import Grid, row_texts
from leaderboards.table import BEST, SECOND, Cell, Column

MARKERS = {"better": "\u25b2", "worse": "\u25bc", "": ""}


def md_escape(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|")


def md_cell(cell: Cell, column: Column) -> str:
    text = format_value(cell.value, column)
    return f"**{text}**" if cell.mark == BEST else f"<u>{text}</u>" if cell.mark == SECOND else text


def _delta(diff: str, marker: str) -> str:
    return f" ({diff}{MARKERS[marker]})"


def markdown_table(grid: Grid) -> list[str]:
    """The table's lines: header, alignment, one line per row."""
    head = [grid.label_column, *grid.extra_columns, *(f"{c.display} {c.arrow}" for c in grid.columns)]
    lines = ["| " + " | ".join(md_escape(h) for h in head) + " |"]
    lines.append("|---|" + "---|" * len(grid.extra_columns) + "---:|" * len(grid.columns))
    for row in grid.rows:
        texts = [
            md_escape(row.label),
            *(md_escape(e) for e in row.extra),
            *row_texts(row, grid.columns, md_cell, _delta),
        ]
        lines.append("| " + " | ".join(texts) + " |")
    return lines


def grid_markdown(grid: Grid, level: int = 2) -> str:
    """A section: heading, the notes, the table, and the legend of the marks."""
    lines = [f"{'#' * level} {md_escape(grid.title)}", ""]
    lines += [f"*{md_escape(note)}*" for note in grid.notes]
    lines += [""] if grid.notes else []
    lines += markdown_table(grid)
    if grid.ranked:
        lines += ["", "Bold: best in column; underlined: second (direction-aware; ties share a mark)."]
    return "\n".join(lines) + "\n"

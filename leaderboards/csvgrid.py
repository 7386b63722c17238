"""Grids as wide CSV: one line per row, per metric its unrounded value, interval, mark and (ablations) delta."""

from __future__ import annotations

import csv
import io

from leaderboards.grid import Grid
from leaderboards.table import BEST, SECOND


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def grid_csv(grid: Grid) -> str:
    """Columns: label, the grid's extra columns, then per metric `m`, `m_ci95_low`, `m_ci95_high`, `m_n`,
    `m_mark` (best/second), and for ablation grids `m_diff`, `m_diff_ci95_low`, `m_diff_ci95_high`,
    `m_significant`, `m_better`."""
    with_deltas = any(row.deltas for row in grid.rows)
    header = [grid.label_column, *grid.extra_columns]
    for c in grid.columns:
        header += [c.name, f"{c.name}_ci95_low", f"{c.name}_ci95_high", f"{c.name}_n", f"{c.name}_mark"]
        if with_deltas:
            header += [f"{c.name}_diff", f"{c.name}_diff_ci95_low", f"{c.name}_diff_ci95_high"]
            header += [f"{c.name}_significant", f"{c.name}_better"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in grid.rows:
        line = [row.label, *row.extra]
        for k, cell in enumerate(row.cells):
            low, high = cell.ci95 if cell.ci95 is not None else (None, None)
            mark = {BEST: "best", SECOND: "second"}.get(cell.mark, "")
            line += [_num(cell.value), _num(low), _num(high), "" if cell.n is None else cell.n, mark]
            if with_deltas:
                d = row.deltas[k] if row.deltas else None
                line += (
                    ["", "", "", "", ""]
                    if d is None
                    else [_num(d.diff), _num(d.ci95[0]), _num(d.ci95[1]), str(d.excludes_zero), str(d.better)]
                )
        writer.writerow(line)
    return buffer.getvalue()

"""Grids as LaTeX tables ready to paste: booktabs rules, best in `\\textbf{}`, second in `\\underline{}`.

Needs `\\usepackage{booktabs}` (and `amssymb` for the ablation markers); every label is escaped, values read as
on the page (identification as percentages).
"""

from __future__ import annotations

import re

from leaderboards.format import format_value
from leaderboards.grid import Grid, row_texts
from leaderboards.table import BEST, SECOND, Cell, Column

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\u00b7": r"\textperiodcentered{}",
    "\u2013": "--",
    "\u2191": r"$\uparrow$",
    "\u2193": r"$\downarrow$",
    "\u25b2": r"$\blacktriangle$",
    "\u25bc": r"$\blacktriangledown$",
}
_SPECIAL_RE = re.compile("|".join(re.escape(k) for k in _SPECIAL))
MARKERS = {"better": r"$^{\blacktriangle}$", "worse": r"$^{\blacktriangledown}$", "": ""}


def escape_latex(text: str) -> str:
    """Text safe in LaTeX body text: the ten special characters, and the symbols the tables use."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], text)


def latex_cell(cell: Cell, column: Column) -> str:
    text = escape_latex(format_value(cell.value, column))
    return rf"\textbf{{{text}}}" if cell.mark == BEST else rf"\underline{{{text}}}" if cell.mark == SECOND else text


def _delta(diff: str, marker: str) -> str:
    return rf" {{\scriptsize({escape_latex(diff)}{MARKERS[marker]})}}"


def grid_latex(grid: Grid) -> str:
    """A `table` float with caption and label, the tabular between booktabs rules."""
    head = [grid.label_column, *grid.extra_columns, *(f"{c.display} {c.arrow}" for c in grid.columns)]
    spec = "l" * (1 + len(grid.extra_columns)) + "r" * len(grid.columns)
    caption = grid.title + "".join(f". {note}" for note in grid.notes)
    if grid.ranked:
        caption += ". Bold: best; underlined: second"
    lines = [
        "% requires \\usepackage{booktabs} and \\usepackage{amssymb}",
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{escape_latex(caption)}}}",
        rf"\label{{tab:{grid.stem.replace('_', '-')}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(escape_latex(h) for h in head) + r" \\",
        r"\midrule",
    ]
    for row in grid.rows:
        texts = [
            escape_latex(row.label),
            *(escape_latex(e) for e in row.extra),
            *row_texts(row, grid.columns, latex_cell, _delta),
        ]
        lines.append(" & ".join(texts) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"

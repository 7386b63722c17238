"""The report's tables as plain grids: rows of cells under metric columns, ready for the Markdown, LaTeX and CSV
writers. Built from the table model (`table`, `ablation`) and the reported numbers (`reported`); nothing here
formats a number.

Reported numbers join a comparison grid only where `ranking_reason` finds nothing against it and the paper
averaged exactly the table's subjects (a per-subject table takes only that subject's numbers); they are then
ranked with the computed rows. Everywhere else they stay in their own grid, unranked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from eval.metrics.spec import METRICS
from leaderboards.ablation import AblationTable, Delta
from leaderboards.format import format_diff, table_title, warning_text
from leaderboards.reported import ReportedRow, ranking_reason
from leaderboards.table import Cell, Column, Table, rank_marks

REPORTED_KIND = "reported"
DeltaText = Callable[[str, str], str]


@dataclass(frozen=True)
class GridRow:
    label: str
    extra: tuple[str, ...]  # one text per `Grid.extra_columns`
    cells: tuple[Cell, ...]
    deltas: tuple[Delta | None, ...] = ()  # ablation grids: per column, the difference to the full model


@dataclass(frozen=True)
class Grid:
    stem: str  # file name without suffix
    title: str
    label_column: str
    extra_columns: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[GridRow, ...]
    notes: tuple[str, ...] = ()
    ranked: bool = True  # whether the cells carry best/second marks


def row_texts(
    row: GridRow, columns: tuple[Column, ...], cell_text: Callable[[Cell, Column], str], delta_text: DeltaText
) -> list[str]:
    """Per column, `cell_text` of the cell, then `delta_text(diff, marker)` where the row has a delta: `diff`
    signed in the value's units, `marker` "better" or "worse" when the interval excludes zero, else ""."""
    texts = []
    for c, column in enumerate(columns):
        text = cell_text(row.cells[c], column)
        delta = row.deltas[c] if row.deltas else None
        if delta is not None:
            marker = ("better" if delta.better else "worse") if delta.excludes_zero else ""
            text += delta_text(format_diff(delta.diff, column), marker)
        texts.append(text)
    return texts


def all_columns() -> tuple[Column, ...]:
    return tuple(Column(s.name, s.display, s.direction, s.kind) for s in METRICS.values())


def comparison_grid(table: Table, stem: str, reported: Sequence[ReportedRow], n_test: int | None) -> Grid:
    """A comparison table (rows decoders), with the reported rows that may be ranked beside it."""
    rows = [GridRow(row.label, (row.kind,), row.cells) for row in table.rows]
    joined = [
        r
        for r in reported
        if r.ablation is None and r.subjects == table.subjects and ranking_reason(r, table.key, n_test) is None
    ]
    for r in joined:
        cells = tuple(Cell(r.values.get(c.name)) for c in table.columns)
        rows.append(GridRow(f"{r.method} ({r.paper}, {r.table})", (REPORTED_KIND,), cells))
    notes = [w] if (w := warning_text(table)) else []
    if joined:
        rows = _remarked(rows, table.columns)
        notes.append(f"{len(joined)} reported row(s) ranked here: dataset, protocol, weights and test-set size match")
    return Grid(stem, table_title(table), "decoder", ("kind",), table.columns, tuple(rows), tuple(notes))


def _remarked(rows: list[GridRow], columns: tuple[Column, ...]) -> list[GridRow]:
    marks = [rank_marks([row.cells[c].value for row in rows], col.direction) for c, col in enumerate(columns)]
    return [
        replace(row, cells=tuple(replace(cell, mark=marks[c][r]) for c, cell in enumerate(row.cells)))
        for r, row in enumerate(rows)
    ]


def ablation_grid(table: AblationTable, stem: str, dataset_label: str) -> Grid:
    """An ablation table: the full model, then each ablation with its paired difference."""
    subject = (
        f"subj{table.subject:02d}"
        if table.subject is not None
        else "mean over subjects " + ", ".join(f"{s:02d}" for s in table.subjects)
    )
    title = (
        f"{table.decoder} ablations \u00b7 {dataset_label} \u00b7 protocol {table.key.protocol} "
        f"v{table.key.protocol_version} \u00b7 weights {table.key.weights_source} \u00b7 {subject}"
    )
    rows = tuple(GridRow(row.label, (), row.cells, row.deltas) for row in table.rows)
    note = (
        "In parentheses: ablation minus full model with a paired bootstrap over the same test images"
        + (", each subject resampled within itself" if table.subject is None else "")
        + "; \u25b2 significantly better, \u25bc significantly worse (95% interval excludes zero)"
    )
    return Grid(stem, title, "variant", (), table.columns, rows, (note,))


REPORTED_EXTRA = ("paper", "table", "subjects", "test images", "protocol", "source")


def reported_grid(rows: Sequence[ReportedRow], stem: str = "reported_numbers") -> Grid:
    """Every reported row, unranked, with where it comes from."""
    columns = all_columns()
    out = tuple(
        GridRow(
            r.method + (f" [{r.ablation}]" if r.ablation else ""),
            (r.paper, r.table, r.subjects_label, str(r.test_images), r.protocol, r.citation),
            tuple(Cell(r.values.get(c.name)) for c in columns),
        )
        for r in rows
    )
    return Grid(
        stem,
        "Reported numbers (as the papers print them; not computed here)",
        "method",
        REPORTED_EXTRA,
        columns,
        out,
        ("Not ranked: each paper used its own test set, evaluation code or subjects (see the README).",),
        ranked=False,
    )

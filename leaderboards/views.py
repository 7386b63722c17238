"""Plain data for the leaderboard page: each comparable group's tables (mean over subjects first), their rows
linked to decoder pages, and a bar figure per table. Every string is formatted here; templates only place them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leaderboards.collect import Skipped
from leaderboards.format import direction_hint, display_scale, format_ci, format_value, table_title, warning_text
from leaderboards.grid import REPORTED_KIND, GridRow, comparison_grid
from leaderboards.plots import Panel, metric_bars
from leaderboards.reported import ReportedRow
from leaderboards.table import BEST, SECOND, Table, TableKey


@dataclass
class PageLinks:
    """Where each run identity's decoder page is, relative to the leaderboard page.

    Attributes:
        by_identity: (table key, identity short hash) -> href.
        by_variant: (table key, variant key) -> [(subject, href)], for the rows of a mean over subjects.
    """

    by_identity: dict[tuple[TableKey, str], str] = field(default_factory=dict)
    by_variant: dict[tuple[TableKey, str], list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))


def skipped_view(skipped: Sequence[Skipped]) -> list[dict[str, str]]:
    """The skipped files as the page lists them: path and one-line reason."""
    return [{"path": str(item.path), "reason": item.reason} for item in skipped]


def group_label(table: Table) -> str:
    return (
        f"{table.dataset_label} \u00b7 protocol {table.key.protocol} v{table.key.protocol_version} "
        f"\u00b7 weights {table.key.weights_source}"
    )


def grouped(tables: Sequence[Table]) -> list[list[Table]]:
    """Tables by comparable group, in their given order, each group's mean over subjects first."""
    groups: dict[TableKey, list[Table]] = {}
    for table in tables:
        groups.setdefault(table.key, []).append(table)
    return [sorted(group, key=lambda t: (t.subject is not None, t.subject or 0)) for group in groups.values()]


def _sort_value(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _row_links(table: Table, row: Any, links: PageLinks) -> tuple[str | None, list[dict[str, str]]]:
    if table.subject is not None:
        return links.by_identity.get((table.key, row.identity_hash or "")), []
    found = sorted(links.by_variant.get((table.key, row.variant_key), []))
    return None, [{"text": f"subj{s:02d}", "href": href} for s, href in found]


def _panels(table: Table, rows: Sequence[GridRow]) -> list[Panel]:
    panels = []
    for c, column in enumerate(table.columns):
        scale = display_scale(column)
        cells = [row.cells[c] for row in rows]
        panels.append(
            Panel(
                title=f"{column.display} {column.arrow}",
                values=tuple(None if cell.value is None else scale * cell.value for cell in cells),
                ci95=tuple(None if c.ci95 is None else (scale * c.ci95[0], scale * c.ci95[1]) for c in cells),
                best=tuple(cell.mark == BEST for cell in cells),
            )
        )
    return panels


def _cells(cells: Sequence[Any], table: Table) -> list[dict[str, Any]]:
    return [
        {
            "text": format_value(cell.value, col),
            "ci": format_ci(cell.ci95, col),
            "sort": _sort_value(cell.value),
            "best": cell.mark == BEST,
            "second": cell.mark == SECOND,
        }
        for cell, col in zip(cells, table.columns)
    ]


def table_view(
    table: Table,
    anchor: str,
    links: PageLinks,
    plots_dir: Path,
    out_dir: Path,
    reported: Sequence[ReportedRow] = (),
    n_test: int | None = None,
) -> dict[str, Any]:
    """One table as the template shows it: formatted cells with their raw sort values, links and its figure.

    Reported rows that compare with the table (`grid.comparison_grid`) join it, marked as reported, and the
    best and second marks are those over all rows.
    """
    grid = comparison_grid(table, "", reported, n_test)
    computed, joined = grid.rows[: len(table.rows)], grid.rows[len(table.rows):]
    rows = []
    for row, marked in zip(table.rows, computed):
        href, subject_links = _row_links(table, row, links)
        rows.append(
            {
                "label": row.label,
                "kind": row.kind,
                "description": row.description,
                "identity": row.identity_hash or "",
                "flags": ", ".join(f"{k}={v}" for k, v in sorted(row.flags.items())),
                "href": href,
                "subject_links": subject_links,
                "cells": _cells(marked.cells, table),
            }
        )
    for marked in joined:
        rows.append({"label": marked.label, "kind": REPORTED_KIND, "description": "as the paper reports it",
                     "identity": "", "flags": "", "href": None, "subject_links": [],
                     "cells": _cells(marked.cells, table)})
    figure = metric_bars([r.label for r in grid.rows], _panels(table, grid.rows), plots_dir) if rows else None
    return {
        "id": anchor,
        "title": table_title(table),
        "subject": table.subject_label,
        "is_mean": table.subject is None,
        "notes": list(grid.notes[1:] if warning_text(table) else grid.notes),
        "columns": [
            {"display": c.display, "arrow": c.arrow, "hint": direction_hint(c), "direction": c.direction}
            for c in table.columns
        ],
        "rows": rows,
        "plot": None if figure is None else figure.relative_to(out_dir).as_posix(),
    }


def group_views(
    tables: Sequence[Table],
    links: PageLinks,
    plots_dir: Path,
    out_dir: Path,
    extras: Mapping[TableKey, Mapping[str, Any]] | None = None,
    reported: Sequence[ReportedRow] = (),
    n_test: Mapping[TableKey, int | None] | None = None,
) -> list[dict[str, Any]]:
    """Each comparable group: its title, why it is not comparable to published numbers (if so), its tables.

    Args:
        extras: Per table key, more sections of the group (its ablation tables as "ablations").
        reported: Reported numbers, joined to the tables they compare with (see `table_view`).
        n_test: Per table key, the results' test-set size (None or absent: not known to be one size).
    """
    views = []
    for g, group in enumerate(grouped(tables)):
        first = group[0]
        reasons = sorted({text for t in group if (text := warning_text(t))})
        views.append(
            {
                "id": f"g{g + 1}",
                "title": group_label(first),
                "dataset_label": first.dataset_label,
                "protocol": f"{first.key.protocol} v{first.key.protocol_version}",
                "weights": first.key.weights_source,
                "test_set": first.key.test_set_fingerprint[:12],
                "warnings": reasons,
                "tables": [
                    table_view(t, f"g{g + 1}-{'mean' if t.subject is None else f's{t.subject:02d}'}", links,
                               plots_dir, out_dir, reported, (n_test or {}).get(t.key))
                    for t in group
                ],
                "ablations": [],
                **(extras or {}).get(first.key, {}),
            }
        )
    return views

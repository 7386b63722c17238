"""Plain data for the page's ablation tables (each variant against the full model, paired differences) and for
the reported numbers copied from papers, which rank with computed results only where `ranking_reason` finds
nothing against it (`grid.comparison_grid` decides; the page shows the reason everywhere else)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leaderboards.ablation import AblationTable, Delta, build_ablation_tables
from leaderboards.collect import LoadedResult
from leaderboards.format import direction_hint, format_ci, format_diff, format_value
from leaderboards.grid import ablation_grid, reported_grid
from leaderboards.reported import ReportedRow, load_reported, ranking_reason
from leaderboards.table import BEST, SECOND, Column, Table, TableKey
from leaderboards.views import group_label


@dataclass(frozen=True)
class PageSections:
    """What the page shows besides the computed tables.

    Attributes:
        extras: Per table key, {"ablations": [ablation table views]}.
        reported: The reported-numbers section, or None when there are no reported numbers.
        reported_rows: The reported numbers themselves (the computed tables rank those that compare).
        n_test: Per table key, its results' test-set size (None when they differ).
    """

    extras: dict[TableKey, dict[str, Any]] = field(default_factory=dict)
    reported: dict[str, Any] | None = None
    reported_rows: tuple[ReportedRow, ...] = ()
    n_test: dict[TableKey, int | None] = field(default_factory=dict)


def column_view(column: Column) -> dict[str, str]:
    return {"display": column.display, "arrow": column.arrow, "hint": direction_hint(column),
            "direction": column.direction}


def _delta_view(delta: Delta | None, column: Column) -> dict[str, Any] | None:
    if delta is None:
        return None
    verdict = "better" if delta.better else "worse" if delta.diff != 0 else "same"
    return {
        "text": format_diff(delta.diff, column),
        "ci": format_ci(delta.ci95, column),
        "sig": delta.excludes_zero,
        "cls": f"sig {verdict}" if delta.excludes_zero else verdict,
        "title": ("as good as" if verdict == "same" else f"{verdict} than") + " the full model; the 95% interval "
        + ("excludes" if delta.excludes_zero else "includes") + " zero",
    }


def ablation_views(tables: Sequence[AblationTable], labels: dict[TableKey, str]) -> dict[TableKey, list[dict]]:
    """Per table key, each ablation table as the template shows it (`labels`: each key's dataset label)."""
    out: dict[TableKey, list[dict[str, Any]]] = defaultdict(list)
    for table in tables:
        grid = ablation_grid(table, "", labels.get(table.key, table.key.dataset))
        views = out[table.key]
        views.append(
            {
                "id": f"ablation-{len(views) + 1}",
                "title": grid.title,
                "note": grid.notes[0] if grid.notes else "",
                "columns": [column_view(c) for c in table.columns],
                "rows": [
                    {
                        "label": row.label,
                        "cells": [
                            {
                                "text": format_value(cell.value, col),
                                "ci": format_ci(cell.ci95, col),
                                "best": cell.mark == BEST,
                                "second": cell.mark == SECOND,
                                "delta": _delta_view(delta, col),
                            }
                            for cell, delta, col in zip(row.cells, row.deltas or (None,) * len(row.cells),
                                                        table.columns)
                        ],
                    }
                    for row in table.rows
                ],
            }
        )
    return dict(out)


def reported_view(rows: Sequence[ReportedRow], groups: Sequence[tuple[TableKey, str, int | None]]
                  ) -> dict[str, Any] | None:
    """The reported-numbers section: every paper row, unranked, with each group's verdict on ranking it.

    Args:
        rows: The reported numbers.
        groups: (table key, title, test-set size) of each computed group on the page.
    """
    if not rows:
        return None
    grid = reported_grid(rows)
    shown = [c for c, col in enumerate(grid.columns) if any(r.cells[c].value is not None for r in grid.rows)]
    citations: list[str] = []
    views = []
    for row, source in zip(rows, grid.rows):
        if row.citation not in citations:
            citations.append(row.citation)
        reasons = []
        for key, title, n_test in groups:
            reason = ranking_reason(row, key, n_test)
            reasons.append(f"{title}: " + (f"not ranked with it: {reason}" if reason else "comparable"))
        views.append(
            {
                "label": source.label,
                "source": f"[{citations.index(row.citation) + 1}] {row.paper}, {row.table} \u00b7 subjects "
                f"{row.subjects_label} \u00b7 {row.test_images} test images \u00b7 protocol {row.protocol} \u00b7 "
                f"{row.dataset} \u00b7 weights {row.weights}" + (f" \u00b7 {row.note}" if row.note else ""),
                "reasons": reasons,
                "cells": [
                    {"text": format_value(source.cells[c].value, grid.columns[c]),
                     "sort": "" if source.cells[c].value is None else repr(source.cells[c].value)}
                    for c in shown
                ],
            }
        )
    return {"columns": [column_view(grid.columns[c]) for c in shown], "rows": views, "citations": citations,
            "note": grid.notes[0] if grid.notes else ""}


def test_set_sizes(loaded: Sequence[LoadedResult]) -> dict[TableKey, int | None]:
    sizes: dict[TableKey, set[int]] = defaultdict(set)
    for item in loaded:
        sizes[TableKey.of(item.result)].add(item.result.dataset.n_test)
    return {key: next(iter(found)) if len(found) == 1 else None for key, found in sizes.items()}


def page_sections(loaded: Sequence[LoadedResult], tables: Sequence[Table]) -> PageSections:
    """Ablation tables of `loaded` and the shipped reported numbers, ready for the page."""
    labels = {t.key: t.dataset_label for t in tables}
    n_test = test_set_sizes(loaded)
    reported = tuple(load_reported())
    groups, seen = [], set()
    for table in tables:
        if table.key not in seen:
            seen.add(table.key)
            groups.append((table.key, group_label(table), n_test.get(table.key)))
    ablations = ablation_views(build_ablation_tables(loaded), labels)
    return PageSections(
        extras={key: {"ablations": views} for key, views in ablations.items()},
        reported=reported_view(reported, groups),
        reported_rows=reported,
        n_test=n_test,
    )

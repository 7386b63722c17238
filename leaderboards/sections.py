"""Plain data for the page's ablation tables (each variant against the full model, paired differences) and for
the reported numbers copied from papers, which are never ranked with computed results unless nothing differs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from eval.metrics.spec import METRICS
from leaderboards.formatting import direction_hint, format_ci, format_diff, format_value
from leaderboards.table import BEST, SECOND, Cell, Column, Row, Table, TableKey, rank_marks

REPORTED_KIND = "reported"


def _column_view(column: Column) -> dict[str, str]:
    return {"display": column.display, "arrow": column.arrow, "hint": direction_hint(column),
            "direction": column.direction}


def _delta_view(delta: Any, column: Column) -> dict[str, Any] | None:
    if delta is None:
        return None
    verdict = "better" if delta.better else "worse"
    return {
        "text": format_diff(delta.diff, column),
        "ci": format_ci(delta.ci95, column),
        "sig": delta.excludes_zero,
        "cls": f"sig {verdict}" if delta.excludes_zero else verdict,
        "title": f"{verdict} than the full model; the 95% interval "
        + ("excludes" if delta.excludes_zero else "includes") + " zero",
    }


def ablation_views(tables: Sequence[Any]) -> dict[TableKey, list[dict[str, Any]]]:
    """Per table key, each ablation table (`leaderboards.ablation.AblationTable`) as the template shows it."""
    out: dict[TableKey, list[dict[str, Any]]] = defaultdict(list)
    for table in tables:
        subject = (f"subj{table.subject:02d}" if table.subject is not None
                   else "mean over subjects " + ", ".join(f"{s:02d}" for s in table.subjects))
        views = out[table.key]
        views.append(
            {
                "id": f"ablation-{len(views) + 1}-{table.decoder}",
                "title": f"{table.decoder} \u00b7 {subject}",
                "columns": [_column_view(c) for c in table.columns],
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
                            for cell, delta, col in zip(row.cells, row.deltas, table.columns)
                        ],
                    }
                    for row in table.rows
                ],
            }
        )
    return dict(out)


def reported_view(
    rows: Sequence[Any],
    groups: Sequence[tuple[TableKey, str]],
    ranking_reason: Callable[[Any, TableKey], str | None],
) -> dict[str, Any] | None:
    """The reported-numbers section: one row per paper row, with each group's reason not to rank it there.

    Args:
        rows: `leaderboards.reported.ReportedRow`s.
        groups: (table key, title) of each computed group on the page.
        ranking_reason: Why a reported row cannot be ranked with a group's results (None: it can).
    """
    if not rows:
        return None
    names = [n for n in METRICS if any(n in r.values for r in rows)]
    columns = [Column(n, METRICS[n].display, METRICS[n].direction, METRICS[n].kind) for n in names]
    citations: list[str] = []
    views = []
    for row in rows:
        if row.citation not in citations:
            citations.append(row.citation)
        reasons = []
        for key, title in groups:
            reason = ranking_reason(row, key)
            reasons.append(f"{title}: " + (f"not ranked with it: {reason}" if reason else "same dataset, protocol "
                                           "and weights: comparable"))
        details = [row.table, f"subjects {', '.join(str(s) for s in row.subjects)}",
                   f"{row.test_images} test images", f"protocol {row.protocol}", row.dataset, f"weights {row.weights}"]
        views.append(
            {
                "label": f"{row.decoder} ({row.paper})",
                "source": f"[{citations.index(row.citation) + 1}] " + " \u00b7 ".join(str(d) for d in details if d)
                + (f" \u00b7 {row.note}" if row.note else ""),
                "reasons": reasons,
                "cells": [
                    {"text": format_value(row.values.get(c.name), c),
                     "sort": "" if row.values.get(c.name) is None else repr(float(row.values[c.name]))}
                    for c in columns
                ],
            }
        )
    return {"columns": [_column_view(c) for c in columns], "rows": views, "citations": citations}


def rank_reported(
    tables: Sequence[Table], rows: Sequence[Any], ranking_reason: Callable[[Any, TableKey], str | None]
) -> list[Table]:
    """`tables` with each reported row that compares (no ranking reason) added to its group's first table (the mean
    over subjects where there is one) as a row of kind 'reported', best and second marks recomputed over all rows.
    """
    out, placed = [], set()
    for table in tables:
        fits = [r for r in rows if ranking_reason(r, table.key) is None]
        first = table.key not in placed and (table.subject is None or not any(
            t.key == table.key and t.subject is None for t in tables))
        if not fits or not first:
            out.append(table)
            continue
        placed.add(table.key)
        extra = [
            Row(label=f"{r.decoder} ({r.paper})", decoder=r.decoder, ablation=None, kind=REPORTED_KIND,
                description=f"reported in {r.citation}", flags={},
                cells=tuple(Cell(r.values.get(c.name)) for c in table.columns))
            for r in fits
        ]
        every = [*table.rows, *extra]
        marks = [rank_marks([row.cells[c].value for row in every], col.direction)
                 for c, col in enumerate(table.columns)]
        marked = tuple(
            replace(row, cells=tuple(replace(cell, mark=marks[c][k]) for c, cell in enumerate(row.cells)))
            for k, row in enumerate(every)
        )
        out.append(replace(table, rows=marked))
    return out

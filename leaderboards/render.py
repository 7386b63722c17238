"""Presentation of the table model: one self-contained HTML page, plus Markdown and CSV of the same tables."""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from eval.atomic import write_text_atomic
from leaderboards.collect import Collection, Skipped, collect_results
from leaderboards.format import NOT_COMPARABLE as NOT_COMPARABLE  # the page's wording, kept importable here
from leaderboards.format import direction_hint, format_ci, format_value, table_title, warning_text
from leaderboards.grid import comparison_grid
from leaderboards.markdown import markdown_table, md_escape
from leaderboards.table import BEST, SECOND, Table, build_tables

log = logging.getLogger(__name__)

TEMPLATE = "leaderboard.html.j2"
PAGE_TITLE = "havir-bench leaderboard"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def environment() -> jinja2.Environment:
    """Templates from this package's folder; autoescape on, a missing field is an error, not a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _href(path: Path, out_dir: Path) -> str | None:
    if not path.exists():
        log.warning("artifact %s is missing; not linked", path)
        return None
    return quote(Path(os.path.relpath(path, out_dir.resolve())).as_posix())


def table_view(table: Table, out_dir: Path) -> dict[str, Any]:
    """Plain data for the template: every string already formatted, nothing left to compute."""
    rows = []
    for row in table.rows:
        artifacts = [
            {"name": name, "href": href, "image": path.suffix.lower() in _IMAGE_SUFFIXES}
            for name, path in row.artifacts
            if (href := _href(path, out_dir)) is not None
        ]
        rows.append(
            {
                "label": row.label,
                "identity": row.identity_hash or "",
                "kind": row.kind,
                "description": row.description,
                "flags": ", ".join(f"{k}={v}" for k, v in sorted(row.flags.items())),
                "cells": [
                    {
                        "text": format_value(cell.value, col),
                        "ci": format_ci(cell.ci95, col),
                        "best": cell.mark == BEST,
                        "second": cell.mark == SECOND,
                    }
                    for cell, col in zip(row.cells, table.columns)
                ],
                "artifacts": artifacts,
            }
        )
    return {
        "title": table_title(table),
        "dataset_label": table.dataset_label,
        "test_set": table.key.test_set_fingerprint[:12],
        "protocol": f"{table.key.protocol} v{table.key.protocol_version}",
        "weights": table.key.weights_source,
        "warning": warning_text(table),
        "subject": table.subject_label,
        "columns": [
            {
                "display": c.display,
                "arrow": c.arrow,
                "hint": direction_hint(c),
            }
            for c in table.columns
        ],
        "rows": rows,
        "gallery": [
            {"label": r["label"], "name": a["name"], "href": a["href"]}
            for r in rows
            for a in r["artifacts"]
            if a["image"]
        ],
    }


def skipped_view(skipped: list[Skipped]) -> list[dict[str, str]]:
    """The skipped files as the page lists them: path and one-line reason."""
    return [{"path": str(item.path), "reason": item.reason} for item in skipped]


def render_html(
    tables: list[Table], out_dir: Path, title: str = PAGE_TITLE, skipped: list[Skipped] | None = None
) -> str:
    views = [table_view(t, out_dir) for t in tables]
    return environment().get_template(TEMPLATE).render(title=title, tables=views, skipped=skipped_view(skipped or []))


def render_markdown(tables: list[Table], title: str = PAGE_TITLE) -> str:
    lines = [f"# {title}", ""]
    for table in tables:
        lines += [f"## {md_escape(table_title(table))}", ""]
        if not table.comparable_to_published:
            lines += [f"**Warning:** {md_escape(warning_text(table))}", ""]
        lines += markdown_table(comparison_grid(table, "", (), None))
        lines.append("")
    return "\n".join(lines)


CSV_FIELDS = (
    "dataset",
    "dataset_label",
    "test_set_fingerprint",
    "protocol",
    "protocol_version",
    "weights_source",
    "subject",
    "label",
    "identity",
    "decoder",
    "ablation",
    "kind",
    "metric",
    "value",
    "ci95_low",
    "ci95_high",
    "n",
    "mark",
)


def render_csv(tables: list[Table]) -> str:
    """One line per table cell (tidy), unrounded; subject is 'mean' for a mean over subjects.

    `label` is the row's label as the page shows it; `identity` the run identity's short hash (the end of the
    results file's name), empty in a mean over subjects.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for table in tables:
        for row in table.rows:
            for cell, col in zip(row.cells, table.columns):
                if cell.value is None:
                    continue
                writer.writerow(
                    {
                        "dataset": table.key.dataset,
                        "dataset_label": table.dataset_label,
                        "test_set_fingerprint": table.key.test_set_fingerprint,
                        "protocol": table.key.protocol,
                        "protocol_version": table.key.protocol_version,
                        "weights_source": table.key.weights_source,
                        "subject": "mean" if table.subject is None else table.subject,
                        "label": row.label,
                        "identity": row.identity_hash or "",
                        "decoder": row.decoder,
                        "ablation": row.ablation or "",
                        "kind": row.kind,
                        "metric": col.name,
                        "value": repr(cell.value),
                        "ci95_low": "" if cell.ci95 is None else repr(cell.ci95[0]),
                        "ci95_high": "" if cell.ci95 is None else repr(cell.ci95[1]),
                        "n": "" if cell.n is None else cell.n,
                        "mark": {BEST: "best", SECOND: "second"}.get(cell.mark, ""),
                    }
                )
    return buffer.getvalue()


def render_leaderboard(results_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Read every results file under `results_dir`; write index.html, leaderboard.md and leaderboard.csv.

    Files that cannot be shown are skipped (see `leaderboards.collect`), logged and listed on the page.

    Args:
        results_dir: Folder searched recursively for results files.
        out_dir: Where the three files go (default: `results_dir`).

    Returns:
        The path of index.html.

    Raises:
        HarnessError: No valid results file, or two files of one run identity (same code) in a table.
    """
    return write_leaderboard(collect_results(results_dir), Path(out_dir if out_dir is not None else results_dir))


def write_leaderboard(collection: Collection, out: Path) -> Path:
    """Write index.html, leaderboard.md and leaderboard.csv of a collected folder into `out`; the page path."""
    tables = build_tables(collection.loaded)
    page = write_text_atomic(out / "index.html", render_html(tables, out, skipped=collection.skipped))
    write_text_atomic(out / "leaderboard.md", render_markdown(tables))
    write_text_atomic(out / "leaderboard.csv", render_csv(tables))
    log.info("leaderboard: %s (%d tables, %d files skipped)", page, len(tables), len(collection.skipped))
    return page

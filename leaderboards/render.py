"""Presentation of the table model: the leaderboard site (`site`), plus Markdown and CSV of the same tables."""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path

from eval.atomic import write_text_atomic
from leaderboards.collect import Collection, collect_results
from leaderboards.format import NOT_COMPARABLE as NOT_COMPARABLE  # the page's wording, kept importable here
from leaderboards.format import table_title, warning_text
from leaderboards.grid import comparison_grid
from leaderboards.markdown import markdown_table, md_escape
from leaderboards.sections import page_sections
from leaderboards.site import PAGE_TITLE, TEMPLATE, environment, write_site
from leaderboards.table import BEST, SECOND, Table, build_tables

log = logging.getLogger(__name__)

__all__ = ["NOT_COMPARABLE", "PAGE_TITLE", "TEMPLATE", "environment", "render_csv", "render_leaderboard",
           "render_markdown", "write_leaderboard"]


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
    """Read every results file under `results_dir`; write the site (index.html, decoders/, plots/, thumbs/),
    leaderboard.md and leaderboard.csv.

    Files that cannot be shown are skipped (see `leaderboards.collect`), logged and listed on the page.

    Args:
        results_dir: Folder searched recursively for results files.
        out_dir: Where they go (default: `results_dir`).

    Returns:
        The path of index.html.

    Raises:
        HarnessError: No valid results file, or two files of one run identity (same code) in a table.
    """
    return write_leaderboard(collect_results(results_dir), Path(out_dir if out_dir is not None else results_dir))


def write_leaderboard(collection: Collection, out: Path) -> Path:
    """Write the site, leaderboard.md and leaderboard.csv of a collected folder into `out`; the page path."""
    tables = build_tables(collection.loaded)
    sections = page_sections(collection.loaded, tables)
    page = write_site(collection.loaded, tables, out, skipped=collection.skipped, extras=sections.extras,
                      reported=sections.reported, reported_rows=sections.reported_rows, n_test=sections.n_test)
    write_text_atomic(out / "leaderboard.md", render_markdown(tables))
    write_text_atomic(out / "leaderboard.csv", render_csv(tables))
    log.info("leaderboard: %s (%d tables, %d files skipped)", page, len(tables), len(collection.skipped))
    return page

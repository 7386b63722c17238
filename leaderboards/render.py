"""Presentation of the table model: the leaderboard site (`site`), plus Markdown and CSV of the same tables."""

from __future__ import annotations

import csv
import html
import io
import logging
import os
from pathlib import Path

from eval.atomic import write_text_atomic
from leaderboards.collect import collect_results
from leaderboards.formatting import NOT_COMPARABLE, format_ci, format_value, table_title, warning_text
from leaderboards.site import PAGE_TITLE, TEMPLATE, environment, write_site
from leaderboards.table import BEST, SECOND, Table, build_tables

log = logging.getLogger(__name__)

__all__ = ["NOT_COMPARABLE", "PAGE_TITLE", "TEMPLATE", "environment", "format_ci", "format_value",
           "render_csv", "render_leaderboard", "render_markdown", "table_title", "warning_text"]


def _md_escape(text: str) -> str:
    return html.escape(text).replace("|", "\\|")


def render_markdown(tables: list[Table], title: str = PAGE_TITLE) -> str:
    lines = [f"# {title}", ""]
    for table in tables:
        lines += [f"## {_md_escape(table_title(table))}", ""]
        if not table.comparable_to_published:
            lines += [f"**Warning:** {_md_escape(warning_text(table))}", ""]
        lines.append("| decoder | kind | " + " | ".join(f"{c.display} {c.arrow}" for c in table.columns) + " |")
        lines.append("|---|---|" + "---:|" * len(table.columns))
        for row in table.rows:
            cells = []
            for cell, col in zip(row.cells, table.columns):
                text = format_value(cell.value, col)
                cells.append(f"**{text}**" if cell.mark == BEST else f"<u>{text}</u>" if cell.mark == SECOND else text)
            lines.append(f"| {_md_escape(row.label)} | {row.kind} | " + " | ".join(cells) + " |")
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

    Args:
        results_dir: Folder searched recursively for results files.
        out_dir: Where they go (default: `results_dir`).

    Returns:
        The path of index.html.

    Raises:
        HarnessError: No results, an invalid results file, or two files of one run identity in a table.
    """
    out = Path(out_dir if out_dir is not None else results_dir)
    loaded = collect_results(results_dir)
    tables = build_tables(loaded)
    page = write_site(loaded, tables, out)
    write_text_atomic(out / "leaderboard.md", render_markdown(tables))
    write_text_atomic(out / "leaderboard.csv", render_csv(tables))
    log.info("leaderboard: %s (%d tables)", page, len(tables))
    return page

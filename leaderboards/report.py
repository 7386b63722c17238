"""python -m leaderboards.report RESULTS_DIR --out DIR: paper-style tables of a results folder.

Writes, each as Markdown, LaTeX (booktabs) and CSV: the comparison tables (rows decoders, columns the eight
metrics; one per subject and the mean over subjects), the ablation tables, and the reported numbers in their own
table; plus README.md, the index of what was written.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from eval.atomic import write_text_atomic
from eval.errors import run_cli
from eval.results import RunResult
from leaderboards.ablation import AblationTable, build_ablation_tables
from leaderboards.collect import Collection, collect_results, exit_status
from leaderboards.csvgrid import grid_csv
from leaderboards.grid import Grid, ablation_grid, comparison_grid, reported_grid
from leaderboards.latex import grid_latex
from leaderboards.markdown import grid_markdown, md_escape
from leaderboards.reported import ReportedRow, load_reported, ranking_reason
from leaderboards.table import Table, TableKey, build_tables

log = logging.getLogger(__name__)

EPILOG = """examples:
  python -m leaderboards.report runs/results --out runs/report
  python -m leaderboards.report results/ --out paper/tables --reported my_reported.csv
Exit status: 0; 1 when results files were skipped (the valid tables are still written); 2 on bad input."""
FORMATS = (".md", ".tex", ".csv")


def write_report(
    results_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], reported: Path | None = None
) -> list[Path]:
    """Write the report tables of every results file under `results_dir` into `out_dir`; the paths written.

    Raises:
        HarnessError: No valid results file, a duplicate run identity, or an invalid reported-numbers file.
    """
    return write_report_tables(collect_results(results_dir), Path(out_dir), reported)


def write_report_tables(collection: Collection, out: Path, reported: Path | None = None) -> list[Path]:
    """`write_report` of an already collected folder (the skipped files are listed in the index)."""
    rows = load_reported(reported)
    tables = build_tables(collection.loaded)
    ablations = build_ablation_tables(collection.loaded)
    first: dict[TableKey, RunResult] = {}
    for item in collection.loaded:
        first.setdefault(TableKey.of(item.result), item.result)
    parts = _key_parts(list(first))
    used: set[str] = set()
    comparisons = [
        comparison_grid(t, _unique(f"comparison_{parts[t.key]}_{_subject(t.subject)}", used), rows, _n(first, t.key))
        for t in tables
    ]
    ablation_grids = [
        ablation_grid(a, _unique(_ablation_stem(a, parts), used), first[a.key].dataset.label) for a in ablations
    ]
    grids = [*comparisons, *ablation_grids, reported_grid(rows)]
    paths = []
    for grid in grids:
        for suffix, text in zip(FORMATS, (grid_markdown(grid), grid_latex(grid), grid_csv(grid))):
            paths.append(write_text_atomic(out / f"{grid.stem}{suffix}", text))
    index = _index(comparisons, ablation_grids, tables, rows, collection, first)
    paths.append(write_text_atomic(out / "README.md", index))
    log.info("report: %d files in %s", len(paths), out)
    return paths


def _n(first: dict[TableKey, RunResult], key: TableKey) -> int:
    """The test-set size of a table's results (one per key: the key holds the test set's fingerprint)."""
    return first[key].dataset.n_test


def _subject(subject: int | None) -> str:
    return "mean" if subject is None else f"subj{subject:02d}"


def _ablation_stem(table: AblationTable, parts: dict[TableKey, str]) -> str:
    return f"ablation_{table.decoder}_{parts[table.key]}_{_subject(table.subject)}"


def _key_parts(keys: list[TableKey]) -> dict[TableKey, str]:
    """'<dataset>_<protocol>', with the weight source, then version and test set, only where needed to tell
    the keys of this report apart."""
    names = {k: f"{k.dataset}_{k.protocol}" for k in keys}
    for extra in (lambda k: k.weights_source, lambda k: f"v{k.protocol_version}_{k.test_set_fingerprint[:8]}"):
        counts = Counter(names.values())
        names = {k: f"{n}_{extra(k)}" if counts[n] > 1 else n for k, n in names.items()}
    return {k: re.sub(r"[^A-Za-z0-9._-]", "-", n) for k, n in names.items()}


def _unique(stem: str, used: set[str]) -> str:
    """`stem`, or `stem_2`, `stem_3`, ... when taken (two variants of one decoder with ablations)."""
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    used.add(name)
    return name


def _links(grid: Grid) -> str:
    files = " \u00b7 ".join(f"[{suffix[1:]}]({grid.stem}{suffix})" for suffix in FORMATS)
    return f"- {md_escape(grid.title)}: {files}"


def _index(
    comparisons: list[Grid],
    ablations: list[Grid],
    tables: list[Table],
    rows: list[ReportedRow],
    collection: Collection,
    first: dict[TableKey, RunResult],
) -> str:
    lines = [
        "# Report tables",
        "",
        f"{len(collection.loaded)} results files read, {len(collection.skipped)} skipped.",
        "",
    ]
    lines += ["## Comparison tables", "", *(_links(g) for g in comparisons), ""]
    lines += ["## Ablation tables", ""]
    lines += [*(_links(g) for g in ablations)] if ablations else ["None: no decoder has a full model and an ablation."]
    lines += ["", "## Reported numbers", "", _links(reported_grid(rows)), ""]
    lines += ["Numbers the papers print, never computed here; ranked with computed rows only where dataset, "]
    lines[-1] += "protocol, weights and test-set size match. Per comparison group:"
    reasons: dict[TableKey, Counter] = defaultdict(Counter)
    for table in tables:
        if table.key not in reasons:
            for row in rows:
                reasons[table.key][ranking_reason(row, table.key, _n(first, table.key)) or "ranked"] += 1
    for key, counter in reasons.items():
        lines.append(f"- {md_escape(key.dataset)}, protocol {md_escape(key.protocol)}, weights {key.weights_source}:")
        lines += [f"  - {n} reported row(s): {md_escape(reason)}" for reason, n in counter.most_common()]
    lines += ["", "Sources and notes:", ""]
    lines += [
        f"- {md_escape(r.method)}, subjects {r.subjects_label} ({md_escape(r.paper)}, {md_escape(r.table)}, "
        f"{md_escape(r.citation)})" + (f": {md_escape(r.note)}" if r.note else "")
        for r in rows
    ]
    if collection.skipped:
        lines += ["", "## Skipped files", ""]
        lines += [f"- `{s.path}`: {md_escape(s.reason)}" for s in collection.skipped]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leaderboards.report",
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results_dir", help="folder searched recursively for results files (*.json)")
    parser.add_argument("--out", required=True, help="output folder of the tables and their index README.md")
    parser.add_argument("--reported", type=Path, default=None, help="reported-numbers CSV (default: the shipped one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    skipped = []

    def action() -> None:
        collection = collect_results(args.results_dir)
        write_report_tables(collection, Path(args.out), args.reported)
        print(Path(args.out) / "README.md")
        skipped.extend(collection.skipped)

    return run_cli(action) or exit_status(skipped)


if __name__ == "__main__":
    sys.exit(main())

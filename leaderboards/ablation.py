"""Ablation tables (the HAVIR paper's Table IV): a decoder's full model, then each ablation, with paired deltas.

A table holds one decoder variant: the full model (`ablation` None) and the results that differ from it by the
ablation alone (same options, backbone, transfer, data, seed, subject, protocol, weights). Each ablation cell
carries the difference to the full model on the same images with the paired bootstrap of `eval.compare`
(`eval.stats.paired_bootstrap`); in a mean over subjects, its stratified form (each subject's images resampled
within the subject). Rows follow the full model in ablation-name order: results files do not record the order
a decoder declares its ablations in, and reading it from the decoder would import the decoder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.compare import compare_results, paired_scores
from eval.errors import DataError
from eval.results import RunResult
from eval.stats import stratified_paired_bootstrap
from leaderboards.collect import LoadedResult
from leaderboards.labels import row_label
from leaderboards.table import Cell, Column, TableKey, mean_cells, rank_marks, table_columns

# Seed of the paired bootstrap: the same results files always give the same deltas.
ABLATION_SEED = 0


@dataclass(frozen=True)
class Delta:
    """An ablation's difference to the full model in one metric."""

    diff: float  # ablation minus full
    ci95: tuple[float, float]
    excludes_zero: bool  # the 95% interval lies wholly on one side of zero
    better: bool  # the ablation scores better than the full model (direction-aware), whether significant or not


@dataclass(frozen=True)
class AblationRow:
    label: str
    ablation: str | None  # None: the full model
    cells: tuple[Cell, ...]  # from leaderboards.table
    deltas: tuple[Delta | None, ...]  # None for the full model's row or a missing value


@dataclass(frozen=True)
class AblationTable:
    key: TableKey
    decoder: str
    subject: int | None  # None: mean over `subjects`
    subjects: tuple[int, ...]
    columns: tuple[Column, ...]
    rows: tuple[AblationRow, ...]


def delta_of(stats: dict[str, Any], direction: str) -> Delta:
    """A Delta from a paired-bootstrap row of `eval.compare` / `eval.stats` (A = ablation, B = full model)."""
    low, high = stats["ci95"]
    diff = float(stats["difference"])
    return Delta(
        diff=diff,
        ci95=(float(low), float(high)),
        excludes_zero=low > 0 or high < 0,
        better=diff > 0 if direction == "higher" else diff < 0,
    )


def build_ablation_tables(loaded: Sequence[LoadedResult]) -> list[AblationTable]:
    """Every ablation table: per decoder variant with a full model and at least one ablation, one per subject,
    then a mean over the subjects that have every row, when there are at least two.

    Raises:
        DataError: Two results files hold the same run identity (names both).
    """
    # (table key, identity without ablation, subject and data) -> (subject, data fingerprint) -> ablation -> result
    variants: dict[tuple[TableKey, str], dict[tuple[int, str], dict[str | None, LoadedResult]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for item in loaded:
        r = item.result
        variant = r.identity.canonical(leave_out=("ablation", "subject", "data_fingerprint"))
        rows = variants[TableKey.of(r), variant][r.subject, r.identity.data_fingerprint]
        if r.decoder.ablation in rows:
            raise DataError(
                f"two results files of one run identity ({row_label(r)}): {rows[r.decoder.ablation].path} "
                f"and {item.path}"
            )
        rows[r.decoder.ablation] = item
    tables = []
    for (key, _), by_subject in sorted(variants.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        usable = {s: rows for s, rows in sorted(by_subject.items()) if None in rows and len(rows) > 1}
        tables += [_subject_table(key, s, rows) for (s, _), rows in usable.items()]
        # A subject whose data differs between results (two data fingerprints) has no single row to average.
        counts = defaultdict(int)
        for s, _ in usable:
            counts[s] += 1
        mean = _mean_table(key, {s: rows for (s, _), rows in usable.items() if counts[s] == 1})
        if mean is not None:
            tables.append(mean)
    return tables


def _ordered(rows: dict[str | None, LoadedResult]) -> list[tuple[str | None, RunResult]]:
    return [(None, rows[None].result)] + [(a, rows[a].result) for a in sorted(a for a in rows if a is not None)]


def _subject_table(key: TableKey, subject: int, rows: dict[str | None, LoadedResult]) -> AblationTable:
    ordered = _ordered(rows)
    full = ordered[0][1]
    columns = table_columns([r for _, r in ordered])
    out = []
    for ablation, result in ordered:
        cells = tuple(Cell(m.value, m.ci95, m.n) if (m := result.metrics.get(c.name)) else Cell(None) for c in columns)
        deltas: tuple[Delta | None, ...] = (None,) * len(columns)
        if ablation is not None and result.per_image is not None and full.per_image is not None:
            stats = {
                row["metric"]: row
                for row in compare_results(result, full, (row_label(result), row_label(full)), seed=ABLATION_SEED)
            }
            deltas = tuple(delta_of(stats[c.name], c.direction) if c.name in stats else None for c in columns)
        out.append(AblationRow(row_label(result), ablation, cells, deltas))
    return AblationTable(key, full.decoder.name, subject, (subject,), columns, _marked(out, columns))


def _mean_table(key: TableKey, usable: dict[int, dict[str | None, LoadedResult]]) -> AblationTable | None:
    """The mean over the subjects that hold every row any subject holds; None with fewer than two."""
    every = set().union(*usable.values()) if usable else set()
    subjects = tuple(s for s, rows in usable.items() if set(rows) == every)
    if len(subjects) < 2:
        return None
    per_subject = [_ordered(usable[s]) for s in subjects]
    fulls = [rows[0][1] for rows in per_subject]
    columns = table_columns([r for rows in per_subject for _, r in rows])
    out = []
    for k, (ablation, first) in enumerate(per_subject[0]):
        results = [rows[k][1] for rows in per_subject]
        cells = mean_cells(results, [c.name for c in columns])
        deltas = (None,) * len(columns) if ablation is None else _mean_deltas(results, fulls, columns)
        out.append(AblationRow(row_label(first), ablation, cells, deltas))
    return AblationTable(key, fulls[0].decoder.name, None, subjects, columns, _marked(out, columns))


def _mean_deltas(
    results: list[RunResult], fulls: list[RunResult], columns: tuple[Column, ...]
) -> tuple[Delta | None, ...]:
    if any(r.per_image is None for r in results + fulls):
        return (None,) * len(columns)
    pairs = [paired_scores(r, f, (row_label(r), row_label(f))) for r, f in zip(results, fulls)]
    deltas = []
    for c in columns:
        if not all(c.name in p for p in pairs):
            deltas.append(None)
            continue
        a, b = zip(*(p[c.name] for p in pairs))
        stats = stratified_paired_bootstrap(list(a), list(b), seed=ABLATION_SEED, direction=c.direction)
        deltas.append(delta_of(stats, c.direction))
    return tuple(deltas)


def _marked(rows: list[AblationRow], columns: tuple[Column, ...]) -> tuple[AblationRow, ...]:
    """Best and second per column over the table's rows (direction-aware), as in the comparison tables."""
    marks = [rank_marks([row.cells[c].value for row in rows], col.direction) for c, col in enumerate(columns)]
    return tuple(
        AblationRow(
            row.label,
            row.ablation,
            tuple(Cell(cell.value, cell.ci95, cell.n, marks[c][r]) for c, cell in enumerate(row.cells)),
            row.deltas,
        )
        for r, row in enumerate(rows)
    )

"""The table model: results grouped into comparable tables, with direction-aware best and second marks.

Presentation (HTML, Markdown, CSV) lives in `render`; nothing here formats a number. Only results that share
dataset and test set, protocol name and version, and weight source go in one table, by construction. A row is
one run identity: two variants of a decoder (other options, another backbone, a tag) are two rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from eval.errors import DataError, HarnessError
from eval.metrics.spec import METRICS
from eval.results import DECODER_KINDS, RunResult
from eval.stats import stratified_mean_cis
from leaderboards.collect import LoadedResult
from leaderboards.labels import row_label, variant_key

# Values are compared at display precision (4 decimals, or percentages to 2), so values that print alike tie.
RANK_DECIMALS = 4
BEST, SECOND = 1, 2
# Seed of the subject-mean intervals' bootstrap: the same results files always give the same interval.
MEAN_SEED = 0


@dataclass(frozen=True)
class TableKey:
    """What must match for numbers to share a table."""

    dataset: str
    test_set_fingerprint: str
    protocol: str
    protocol_version: str
    weights_source: str

    @classmethod
    def of(cls, result: RunResult) -> TableKey:
        return cls(
            result.dataset.name,
            result.dataset.test_set_fingerprint,
            result.protocol.name,
            result.protocol.version,
            result.weights.source,
        )


@dataclass(frozen=True)
class Column:
    name: str
    display: str
    direction: str
    kind: str  # "pixel", "identification", "distance" (or "other" for a metric outside METRICS)

    @property
    def arrow(self) -> str:
        return "\u2191" if self.direction == "higher" else "\u2193"


@dataclass(frozen=True)
class Cell:
    value: float | None
    ci95: tuple[float, float] | None = None
    n: int | None = None
    mark: int = 0  # BEST, SECOND or 0


@dataclass(frozen=True)
class Row:
    """One run identity's numbers (or, in a mean over subjects, one variant's)."""

    label: str  # see `row_label`
    decoder: str
    ablation: str | None
    kind: str
    description: str
    flags: dict
    cells: tuple[Cell, ...]
    artifacts: tuple[tuple[str, Path], ...] = ()  # (name, absolute path)
    variant_key: str = ""  # shared by one variant's rows across subjects (see `variant_key`)
    identity_hash: str | None = None  # the run identity's short hash; None in a mean over subjects


@dataclass(frozen=True)
class Table:
    key: TableKey
    dataset_label: str
    subject: int | None  # None: mean over `subjects`
    subjects: tuple[int, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    not_comparable_because: tuple[str, ...]

    @property
    def comparable_to_published(self) -> bool:
        return not self.not_comparable_because

    @property
    def subject_label(self) -> str:
        if self.subject is not None:
            return f"subj{self.subject:02d}"
        return "mean over subjects " + ", ".join(f"{s:02d}" for s in self.subjects)


def rank_marks(values: Sequence[float | None], direction: str) -> list[int]:
    """BEST for every value tied for best, SECOND for every value tied for the next distinct one, else 0."""
    rounded = [None if v is None else round(v, RANK_DECIMALS) for v in values]
    distinct = sorted({v for v in rounded if v is not None}, reverse=direction == "higher")
    marks = {v: m for v, m in zip(distinct[:2], (BEST, SECOND))}
    return [0 if v is None else marks.get(v, 0) for v in rounded]


def table_columns(results: Sequence[RunResult]) -> tuple[Column, ...]:
    """The metrics the results hold: those of METRICS in its order, then any other, sorted by name."""
    present: dict[str, tuple[str, str]] = {}
    for result in results:
        for name, block in result.metrics.items():
            present.setdefault(name, (block.display, block.direction))
    known = [Column(s.name, s.display, s.direction, s.kind) for s in METRICS.values() if s.name in present]
    extra = [Column(n, present[n][0], present[n][1], "other") for n in sorted(set(present) - set(METRICS))]
    return tuple(known + extra)


def _check_one_key(loaded: Sequence[LoadedResult]) -> TableKey:
    keys = {TableKey.of(item.result) for item in loaded}
    if len(keys) != 1:
        described = "; ".join(
            f"{k.dataset} test set {k.test_set_fingerprint[:12]}, protocol {k.protocol} "
            f"v{k.protocol_version}, weights {k.weights_source}"
            for k in sorted(keys, key=str)
        )
        raise HarnessError(
            f"results of different datasets, protocols or weight sources cannot share a table: {described}"
        )
    return keys.pop()


def _sort_key(row: Row) -> tuple:
    return DECODER_KINDS.index(row.kind), row.decoder, row.ablation or "", row.label, row.variant_key


def _distinct_labels(rows: list[Row]) -> list[Row]:
    """Rows whose labels coincide (variants differing in what the label does not show, such as the seed) get
    the start of their variant key appended, so no two rows of a table read alike."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.label] += 1
    return [replace(row, label=f"{row.label} #{row.variant_key[:8]}") if counts[row.label] > 1 else row for row in rows]


def _marked(rows: list[Row], columns: tuple[Column, ...]) -> tuple[Row, ...]:
    rows = sorted(_distinct_labels(rows), key=_sort_key)
    cells = [list(row.cells) for row in rows]
    for c, column in enumerate(columns):
        for r, mark in enumerate(rank_marks([cells[r][c].value for r in range(len(rows))], column.direction)):
            cell = cells[r][c]
            cells[r][c] = Cell(cell.value, cell.ci95, cell.n, mark)
    return tuple(replace(row, cells=tuple(cs)) for row, cs in zip(rows, cells))


def _table(
    key: TableKey,
    loaded: Sequence[LoadedResult],
    subject: int | None,
    subjects: tuple[int, ...],
    rows: list[Row],
    columns: tuple[Column, ...],
) -> Table:
    return Table(
        key=key,
        dataset_label=loaded[0].result.dataset.label,
        subject=subject,
        subjects=subjects,
        columns=columns,
        rows=_marked(rows, columns),
        not_comparable_because=_not_comparable_because(key, loaded),
    )


def _not_comparable_because(key: TableKey, loaded: Sequence[LoadedResult]) -> tuple[str, ...]:
    """Why a table's numbers cannot stand beside published ones; empty when they can."""
    reasons = []
    if key.dataset != "nsd":
        reasons.append(f"dataset {key.dataset}, not NSD")
    weights = [item.result.weights for item in loaded]
    # "none": pixel metrics use no network, so only the producer's own flag can object.
    if key.weights_source not in ("pretrained", "none") or not all(w.comparable_to_published for w in weights):
        notes = sorted({w.note for w in weights if w.note})
        reasons.append("; ".join([f"weights {key.weights_source}", *notes]))
    return tuple(reasons)


def _row(item: LoadedResult, columns: tuple[Column, ...]) -> Row:
    r = item.result
    return Row(
        label=row_label(r),
        decoder=r.decoder.name,
        ablation=r.decoder.ablation,
        kind=r.decoder.kind,
        description=r.decoder.description,
        flags=dict(r.decoder.flags),
        cells=tuple(Cell(m.value, m.ci95, m.n) if (m := r.metrics.get(c.name)) else Cell(None) for c in columns),
        artifacts=tuple((name, (item.path.parent / rel).resolve()) for name, rel in r.artifacts.items()),
        variant_key=variant_key(r),
        identity_hash=r.identity.short_hash(),
    )


def build_table(loaded: Sequence[LoadedResult]) -> Table:
    """One subject's table: a row per run identity.

    Raises:
        HarnessError: The results differ in dataset/test set, protocol or weight source, or in subject.
        DataError: Two results files hold the same run identity (names both).
    """
    if not loaded:
        raise HarnessError("a table needs at least one result")
    key = _check_one_key(loaded)
    subjects = {item.result.subject for item in loaded}
    if len(subjects) != 1:
        raise HarnessError(f"a subject's table got results of subjects {sorted(subjects)}")
    seen: dict[str, Path] = {}
    for item in loaded:
        identity = item.result.identity.key()
        if identity in seen:
            raise DataError(
                f"two results files of one run identity ({row_label(item.result)}) in one table: "
                f"{seen[identity]} and {item.path}"
            )
        seen[identity] = item.path
    columns = table_columns([item.result for item in loaded])
    subject = subjects.pop()
    return _table(key, loaded, subject, (subject,), [_row(item, columns) for item in loaded], columns)


def build_mean_table(per_subject: Sequence[Table], loaded: Sequence[LoadedResult]) -> Table | None:
    """Mean over the subjects of `per_subject` of each variant that has exactly one result per subject.

    Results are one variant's when their `variant_key`s match. A cell is the mean of the subjects' values with
    the 95% interval of that mean by a stratified bootstrap over each subject's test images (`mean_cells`); its
    `n` counts the images of all subjects. None when there are fewer than two subjects or no variant is in all
    of them.
    """
    key = _check_one_key(loaded)
    if len(per_subject) < 2:
        return None
    subjects = tuple(sorted(t.subject for t in per_subject))
    columns = table_columns([item.result for item in loaded])
    by_variant: dict[str, dict[int, list[LoadedResult]]] = defaultdict(lambda: defaultdict(list))
    for item in loaded:
        by_variant[variant_key(item.result)][item.result.subject].append(item)
    rows = []
    for per_subject_items in by_variant.values():
        # Two results of one variant for a subject differ only in their data: there is no single mean to show.
        if tuple(sorted(per_subject_items)) != subjects or any(len(v) != 1 for v in per_subject_items.values()):
            continue
        items = [per_subject_items[s][0] for s in subjects]
        cells = mean_cells([item.result for item in items], [column.name for column in columns])
        rows.append(replace(_row(items[0], columns), cells=cells, artifacts=(), identity_hash=None))
    if not rows:
        return None
    return _table(key, loaded, None, subjects, rows, columns)


def mean_cell(results: Sequence[RunResult], metric: str) -> Cell:
    """`mean_cells` of one metric."""
    return mean_cells(results, [metric])[0]


def mean_cells(results: Sequence[RunResult], metrics: Sequence[str]) -> tuple[Cell, ...]:
    """Per metric, the mean over `results` (one per subject, in a fixed order), with its interval when every
    result holds per-image scores of it: a stratified bootstrap (`eval.stats.stratified_mean_ci`, seed
    `MEAN_SEED`) that resamples each subject's images within the subject. An empty cell when one lacks it.

    Metrics whose scores have the same sizes share one draw of resamples (`stratified_mean_cis`), which gives
    each the interval it would get alone."""
    cells: dict[str, Cell] = {}
    batches: dict[tuple[int, ...], list[tuple[str, list]]] = defaultdict(list)
    for metric in metrics:
        blocks = [r.metrics.get(metric) for r in results]
        if any(block is None for block in blocks):
            cells[metric] = Cell(None)
            continue
        cells[metric] = Cell(float(np.mean([block.value for block in blocks])))
        scores = [r.per_image.scores.get(metric) if r.per_image is not None else None for r in results]
        if all(s is not None for s in scores):
            batches[tuple(len(s) for s in scores)].append((metric, scores))
    for sizes, batch in batches.items():
        groups = [[scores[g] for _, scores in batch] for g in range(len(sizes))]
        for (metric, _), ci in zip(batch, stratified_mean_cis(groups, seed=MEAN_SEED)):
            cells[metric] = Cell(cells[metric].value, ci, sum(sizes))
    return tuple(cells[metric] for metric in metrics)


def build_tables(loaded: Sequence[LoadedResult]) -> list[Table]:
    """Every table: per comparable group, one per subject, then the mean over subjects when there are several."""
    groups: dict[TableKey, list[LoadedResult]] = defaultdict(list)
    for item in loaded:
        groups[TableKey.of(item.result)].append(item)
    tables = []
    for key in sorted(
        groups, key=lambda k: (k.dataset, k.protocol, k.protocol_version, k.weights_source, k.test_set_fingerprint)
    ):
        by_subject: dict[int, list[LoadedResult]] = defaultdict(list)
        for item in groups[key]:
            by_subject[item.result.subject].append(item)
        per_subject = [build_table(by_subject[s]) for s in sorted(by_subject)]
        tables.extend(per_subject)
        mean = build_mean_table(per_subject, groups[key])
        if mean is not None:
            tables.append(mean)
    return tables

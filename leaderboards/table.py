"""The table model: results grouped into comparable tables, with direction-aware best and second marks.

Presentation (HTML, Markdown, CSV) lives in `render`; nothing here formats a number. Only results that share
dataset and test set, protocol name and version, and weight source go in one table, by construction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.errors import DataError, HarnessError
from eval.metrics.spec import METRICS
from eval.results import DECODER_KINDS, RunResult
from leaderboards.collect import LoadedResult

# Values are compared at display precision (4 decimals, or percentages to 2), so values that print alike tie.
RANK_DECIMALS = 4
BEST, SECOND = 1, 2


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
    decoder: str
    ablation: str | None
    kind: str
    description: str
    flags: dict
    cells: tuple[Cell, ...]
    artifacts: tuple[tuple[str, Path], ...] = ()  # (name, absolute path)


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


def _columns(results: Sequence[RunResult]) -> tuple[Column, ...]:
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
    return DECODER_KINDS.index(row.kind), row.decoder, row.ablation or ""


def _marked(rows: list[Row], columns: tuple[Column, ...]) -> tuple[Row, ...]:
    rows = sorted(rows, key=_sort_key)
    cells = [list(row.cells) for row in rows]
    for c, column in enumerate(columns):
        for r, mark in enumerate(rank_marks([cells[r][c].value for r in range(len(rows))], column.direction)):
            cell = cells[r][c]
            cells[r][c] = Cell(cell.value, cell.ci95, cell.n, mark)
    return tuple(
        Row(row.decoder, row.ablation, row.kind, row.description, row.flags, tuple(cs), row.artifacts)
        for row, cs in zip(rows, cells)
    )


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


def _row_id(result: RunResult) -> tuple[str, str | None]:
    return result.decoder.name, result.decoder.ablation


def build_table(loaded: Sequence[LoadedResult]) -> Table:
    """One subject's table.

    Raises:
        HarnessError: The results differ in dataset/test set, protocol or weight source, or in subject.
        DataError: Two results files give the same (decoder, ablation).
    """
    if not loaded:
        raise HarnessError("a table needs at least one result")
    key = _check_one_key(loaded)
    subjects = {item.result.subject for item in loaded}
    if len(subjects) != 1:
        raise HarnessError(f"a subject's table got results of subjects {sorted(subjects)}")
    seen: dict[tuple[str, str | None], Path] = {}
    for item in loaded:
        row_id = _row_id(item.result)
        if row_id in seen:
            raise DataError(
                f"two results files for {row_id[0]}/{row_id[1] or 'full'} in one table: {seen[row_id]} and {item.path}"
            )
        seen[row_id] = item.path
    columns = _columns([item.result for item in loaded])
    rows = []
    for item in loaded:
        r = item.result
        cells = tuple(Cell(m.value, m.ci95, m.n) if (m := r.metrics.get(c.name)) else Cell(None) for c in columns)
        artifacts = tuple((name, (item.path.parent / rel).resolve()) for name, rel in r.artifacts.items())
        rows.append(
            Row(
                r.decoder.name,
                r.decoder.ablation,
                r.decoder.kind,
                r.decoder.description,
                dict(r.decoder.flags),
                cells,
                artifacts,
            )
        )
    subject = subjects.pop()
    return _table(key, loaded, subject, (subject,), rows, columns)


def build_mean_table(per_subject: Sequence[Table], loaded: Sequence[LoadedResult]) -> Table | None:
    """Mean over subjects of rows present in every subject's table (None if no row is).

    A cell is the mean of the subjects' values, without an interval (images differ across subjects).
    """
    key = _check_one_key(loaded)
    if len(per_subject) < 2:
        return None
    columns = _columns([item.result for item in loaded])
    by_row: dict[tuple[str, str | None], list[Row]] = defaultdict(list)
    for table in per_subject:
        index = {c.name: i for i, c in enumerate(table.columns)}
        for row in table.rows:
            by_row[(row.decoder, row.ablation)].append(
                Row(
                    row.decoder,
                    row.ablation,
                    row.kind,
                    row.description,
                    row.flags,
                    tuple(row.cells[index[c.name]] if c.name in index else Cell(None) for c in columns),
                )
            )
    rows = []
    for group in by_row.values():
        if len(group) != len(per_subject):
            continue
        cells = tuple(
            Cell(float(np.mean([g.cells[c].value for g in group])))
            if all(g.cells[c].value is not None for g in group)
            else Cell(None)
            for c in range(len(columns))
        )
        first = group[0]
        rows.append(Row(first.decoder, first.ablation, first.kind, first.description, first.flags, cells))
    if not rows:
        return None
    subjects = tuple(sorted(t.subject for t in per_subject))
    return _table(key, loaded, None, subjects, rows, columns)


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

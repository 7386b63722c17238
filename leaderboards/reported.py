"""Numbers published by papers (`reported_numbers.csv`): validated, grouped per decoder and source, never ranked
with computed results unless dataset, protocol, weights (and test-set size, when known) all match.

The file holds one value per line with its source: decoder, method (as the paper names it), ablation (empty for
the full model), paper, citation, table, subjects averaged (';'-separated, empty when the source does not say),
test-set size, protocol (a harness protocol name when the paper used that evaluation code, else a description),
dataset, weights, metric (a name of `eval.metrics.spec.METRICS`), value (two-way identification as a fraction,
as the harness stores it) and a note.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.errors import DataError
from eval.metrics.spec import METRICS
from leaderboards.table import TableKey

REPORTED_CSV = Path(__file__).with_name("reported_numbers.csv")
FIELDS = (
    "decoder",
    "method",
    "ablation",
    "paper",
    "citation",
    "table",
    "subjects",
    "test_images",
    "protocol",
    "dataset",
    "weights",
    "metric",
    "value",
    "note",
)
# What a value of each kind of metric can be: catches a percentage typed where a fraction belongs.
_RANGES = {"pixel": (-1.0, 1.0), "identification": (0.0, 1.0), "distance": (0.0, 2.0)}
_REQUIRED = ("decoder", "method", "paper", "citation", "table", "protocol", "dataset", "weights")
_TEXT_FIELDS = (*_REQUIRED, "note")


@dataclass(frozen=True)
class ReportedRow:
    """One decoder as one paper reports it."""

    decoder: str
    paper: str
    citation: str
    table: str
    subjects: tuple[int, ...]  # empty: the source does not say
    test_images: int
    protocol: str
    dataset: str
    weights: str
    values: Mapping[str, float]  # metric name -> value
    note: str
    method: str = ""  # the paper's name for the row ("MindEye2 (40 h)")
    ablation: str | None = None

    @property
    def subjects_label(self) -> str:
        return ", ".join(f"{s:02d}" for s in self.subjects) if self.subjects else "not stated"


def load_reported(path: Path | None = None) -> list[ReportedRow]:
    """Read and validate the reported-numbers file (default: the one shipped beside this module), in file order.

    Raises:
        DataError: The file is missing or unreadable, its header differs, or a value is invalid; names the row
            (line number) and column, what was expected and what was found.
    """
    path = REPORTED_CSV if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"reported numbers {path}: cannot read it: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != FIELDS:
        raise DataError(f"reported numbers {path}: expected the columns {','.join(FIELDS)}, found {reader.fieldnames}")
    groups: dict[tuple, dict[str, float]] = {}
    for line, record in enumerate(reader, start=2):
        where = f"reported numbers {path}: row {line}"
        if None in record or any(v is None for v in record.values()):
            raise DataError(f"{where}: expected {len(FIELDS)} columns, found another count")
        head = _head(record, where)
        metric, value = _metric(record, where)
        values = groups.setdefault(head, {})
        if metric in values:
            raise DataError(f"{where}, column 'metric': {metric} is already given for {record['method']} in this table")
        values[metric] = value
    return [ReportedRow(**dict(head), values=values) for head, values in groups.items()]


def _head(record: dict[str, str], where: str) -> tuple[tuple[str, Any], ...]:
    """Everything but metric and value, as (field, value) pairs: the fields one decoder's values in one source
    share (the key that groups the file's lines into rows)."""
    for column in _REQUIRED:
        if not record[column].strip():
            raise DataError(f"{where}, column '{column}': expected a value, found an empty cell")
    try:
        subjects = tuple(int(s) for s in record["subjects"].split(";")) if record["subjects"].strip() else ()
    except ValueError:
        raise DataError(
            f"{where}, column 'subjects': expected subject numbers separated by ';', found {record['subjects']!r}"
        ) from None
    if not record["test_images"].isdigit() or int(record["test_images"]) < 1:
        raise DataError(f"{where}, column 'test_images': expected a positive integer, found {record['test_images']!r}")
    fields = {name: record[name] for name in _TEXT_FIELDS}
    fields |= {"ablation": record["ablation"] or None, "subjects": subjects, "test_images": int(record["test_images"])}
    return tuple(sorted(fields.items()))


def _metric(record: dict[str, str], where: str) -> tuple[str, float]:
    name = record["metric"]
    if name not in METRICS:
        raise DataError(f"{where}, column 'metric': expected one of {', '.join(METRICS)}, found {name!r}")
    try:
        value = float(record["value"])
    except ValueError:
        value = math.nan
    low, high = _RANGES[METRICS[name].kind]
    if not low <= value <= high:
        kind = METRICS[name].kind
        raise DataError(
            f"{where}, column 'value': expected a number in [{low:g}, {high:g}] for {name} ({kind}"
            f"{', a fraction, not a percentage' if kind == 'identification' else ''}), found {record['value']!r}"
        )
    return name, value


def ranking_reason(row: ReportedRow, key: TableKey, test_images: int | None = None) -> str | None:
    """Why `row` cannot be ranked with the computed results of a table under `key`, for the page; None when
    dataset, protocol and weights all match the table's (and the test-set size, when `test_images` is given)."""
    reasons = []
    if row.dataset != key.dataset:
        reasons.append(f"reported on {row.dataset}, this table is on {key.dataset}")
    if row.protocol != key.protocol:
        reasons.append(f"the paper's evaluation is {row.protocol}, this table's protocol is {key.protocol}")
    if row.weights != key.weights_source:
        reasons.append(f"the paper's networks are {row.weights}, this table's weights are {key.weights_source}")
    if test_images is not None and row.test_images != test_images:
        reasons.append(f"{row.test_images} test images in the paper, {test_images} here")
    return "; ".join(reasons) if reasons else None

"""Guarding metrics against regressions: compare a run's results with a committed reference.

A metric regresses when it moves in its wrong direction (down for higher-is-better, up for lower-is-better) by
more than the reference's stated tolerance; moving the right way never fails, but is reported so the reference
can be refreshed deliberately.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.atomic import write_json_atomic
from eval.errors import DataError
from eval.results import RunResult

REFERENCE_VERSION = 1


@dataclass(frozen=True)
class Change:
    row: str
    metric: str
    reference: float
    current: float
    direction: str
    tolerance: float

    @property
    def worse_by(self) -> float:
        delta = self.current - self.reference
        return -delta if self.direction == "higher" else delta

    @property
    def regressed(self) -> bool:
        return self.worse_by > self.tolerance

    def describe(self) -> str:
        arrow = "higher is better" if self.direction == "higher" else "lower is better"
        return (
            f"{self.row} {self.metric}: reference {self.reference:.4f}, now {self.current:.4f} "
            f"({arrow}; tolerance {self.tolerance})"
        )


def row_name(result: RunResult) -> str:
    """'subj01/havir/no_cap', with the tag or the variant's differences when there are any."""
    suffix = f"/{result.decoder.ablation}" if result.decoder.ablation else ""
    variant = ", ".join(f"{k}={v}" for k, v in sorted(result.variant.items()))
    name = result.tag or result.decoder.name
    return f"subj{result.subject:02d}/{name}{suffix}" + (f" \u00b7 {variant}" if variant and not result.tag else "")


def summarise_results(results_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """{row: {metric: {value, direction}}} from every results file under `results_dir`.

    Read as the leaderboard reads them (`leaderboards.collect`), but strictly: a guard that skipped a file would
    check less than it claims, so any file the leaderboard would skip is an error here.
    """
    from leaderboards.collect import collect_results

    collection = collect_results(results_dir)
    if collection.skipped:
        first = collection.skipped[0]
        raise DataError(f"results file {first.path}: {first.reason}")
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for item in collection.loaded:
        result = item.result
        if row_name(result) in rows:
            raise DataError(f"results file {item.path}: a second result for row {row_name(result)!r} (expected one)")
        rows[row_name(result)] = {
            name: {"value": block.value, "direction": block.direction} for name, block in result.metrics.items()
        }
    return rows


def compare(reference: dict[str, Any], current: dict[str, dict[str, dict[str, Any]]]) -> list[Change]:
    """Every (row, metric) of the reference, compared with the current run; a missing one is an error."""
    tolerance = reference["tolerance"]
    changes = []
    for row, metrics in reference["rows"].items():
        if row not in current:
            raise DataError(f"regression reference row '{row}' is missing from the current results")
        for metric, block in metrics.items():
            if metric not in current[row]:
                raise DataError(f"regression reference metric '{row} {metric}' is missing from the current results")
            changes.append(
                Change(
                    row,
                    metric,
                    float(block["value"]),
                    float(current[row][metric]["value"]),
                    block["direction"],
                    float(tolerance.get(metric, tolerance["default"])),
                )
            )
    return changes


def write_reference(
    path: Path, current: dict[str, Any], tolerance: dict[str, float], provenance: dict[str, Any]
) -> None:
    write_json_atomic(
        path, {"version": REFERENCE_VERSION, "provenance": provenance, "tolerance": tolerance, "rows": current}
    )


def load_reference(path: Path) -> dict[str, Any]:
    try:
        reference = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"regression reference {path}: cannot read it as JSON: {exc}") from exc
    if reference.get("version") != REFERENCE_VERSION or "default" not in reference.get("tolerance", {}):
        raise DataError(f"regression reference {path}: expected version {REFERENCE_VERSION} with a default tolerance")
    return reference

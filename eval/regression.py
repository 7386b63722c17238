"""Guarding metrics against regressions: compare a run's results with a committed reference.

A metric regresses when it moves in its wrong direction (down for higher-is-better, up for lower-is-better) by
more than its tolerance: the reference's tolerance for that metric, else its default. Moving the right way never
fails, but is reported so the reference can be refreshed deliberately. Every decoder row of the reference must be
in the run; a row of the run that the reference lacks is unguarded, and `unguarded` names it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.atomic import write_json_atomic
from eval.errors import DataError
from eval.results import RunResult

REFERENCE_VERSION = 2
Summary = dict[str, dict[str, dict[str, Any]]]  # {row: {metric: {"value": float, "direction": str}}}


@dataclass(frozen=True)
class Change:
    """One metric of one decoder row: its reference value, its value now, and how far it may fall."""

    row: str
    metric: str
    reference: float
    current: float
    direction: str
    tolerance: float

    @property
    def worse_by(self) -> float:
        """How far the metric moved the wrong way (negative when it improved)."""
        delta = self.current - self.reference
        return -delta if self.direction == "higher" else delta

    @property
    def regressed(self) -> bool:
        return self.worse_by > self.tolerance

    @property
    def improved(self) -> bool:
        return -self.worse_by > self.tolerance

    def describe(self) -> str:
        arrow = "higher is better" if self.direction == "higher" else "lower is better"
        way = "worse" if self.worse_by > 0 else "better"
        return (
            f"decoder {self.row}, metric {self.metric} ({arrow}): was {self.reference:.4f}, now {self.current:.4f}, "
            f"{way} by {abs(self.worse_by):.4f} (tolerance {self.tolerance:g})"
        )


def row_name(result: RunResult) -> str:
    """'subj01/havir/no_cap', with the tag or the variant's differences when there are any."""
    suffix = f"/{result.decoder.ablation}" if result.decoder.ablation else ""
    variant = ", ".join(f"{k}={v}" for k, v in sorted(result.variant.items()))
    name = result.tag or result.decoder.name
    return f"subj{result.subject:02d}/{name}{suffix}" + (f" \u00b7 {variant}" if variant and not result.tag else "")


def summarise_results(*results_dirs: Path) -> Summary:
    """{row: {metric: {value, direction}}} from every results file under the given folders.

    Read as the leaderboard reads them (`leaderboards.collect`), but strictly: a guard that skipped a file would
    check less than it claims, so any file the leaderboard would skip is an error here.
    """
    from leaderboards.collect import collect_results

    rows: Summary = {}
    for folder in results_dirs:
        collection = collect_results(folder)
        if collection.skipped:
            first = collection.skipped[0]
            raise DataError(f"results file {first.path}: {first.reason}")
        for item in collection.loaded:
            result = item.result
            if row_name(result) in rows:
                raise DataError(
                    f"results file {item.path}: a second result for row {row_name(result)!r} (expected one)"
                )
            rows[row_name(result)] = {
                name: {"value": block.value, "direction": block.direction} for name, block in result.metrics.items()
            }
    return rows


def tolerance_of(reference: Mapping[str, Any], metric: str) -> float:
    """The metric's own tolerance, else the default."""
    table = reference["tolerance"]
    return float(table.get(metric, table["default"]))


def compare(reference: Mapping[str, Any], current: Summary) -> list[Change]:
    """Every (row, metric) of the reference, compared with the current run.

    Raises:
        DataError: naming every decoder row, or metric of a row, the reference pins and the run lacks.
    """
    missing = [row for row in reference["rows"] if row not in current]
    if missing:
        raise DataError(
            f"regression reference: decoder {', '.join(repr(row) for row in missing)} missing from the current "
            f"results (expected all {len(reference['rows'])} reference rows, found {len(current)} rows)"
        )
    changes = []
    for row, metrics in reference["rows"].items():
        for metric, block in metrics.items():
            if metric not in current[row]:
                raise DataError(f"regression reference: metric '{metric}' of decoder '{row}' missing from the results")
            changes.append(
                Change(
                    row,
                    metric,
                    float(block["value"]),
                    float(current[row][metric]["value"]),
                    block["direction"],
                    tolerance_of(reference, metric),
                )
            )
    return changes


def unguarded(reference: Mapping[str, Any], current: Summary) -> list[str]:
    """Rows of the run that the reference does not pin (a decoder added to the run without refreshing it)."""
    return [row for row in current if row not in reference["rows"]]


def report(changes: list[Change], refresh: str) -> str:
    """The failure message: one line per regressed metric, then how to refresh the reference if intended."""
    lines = [change.describe() for change in changes if change.regressed]
    return f"{len(lines)} metric(s) regressed beyond tolerance (if intended: {refresh}, and commit it):\n" + "\n".join(
        lines
    )


def write_reference(
    path: Path,
    current: Summary,
    tolerance: Mapping[str, float],
    reasons: Mapping[str, str],
    provenance: Mapping[str, Any],
) -> None:
    """Write the reference atomically: values, per-metric tolerances with the reason for each, and provenance."""
    check_tolerance(path, tolerance)
    write_json_atomic(
        path,
        {
            "version": REFERENCE_VERSION,
            "provenance": dict(provenance),
            "tolerance": dict(tolerance),
            "tolerance_reasons": dict(reasons),
            "rows": current,
        },
    )


def check_tolerance(path: Path, tolerance: Mapping[str, Any]) -> None:
    """A default and known metric names, each with a finite non-negative number."""
    from eval.metrics.spec import METRICS

    if "default" not in tolerance:
        raise DataError(f"regression reference {path}: expected a 'default' tolerance, found {sorted(tolerance)}")
    for name, value in tolerance.items():
        if name != "default" and name not in METRICS:
            raise DataError(f"regression reference {path}: tolerance for '{name}', expected one of {list(METRICS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise DataError(f"regression reference {path}: tolerance '{name}' expected a number >= 0, found {value!r}")


def load_reference(path: Path) -> dict[str, Any]:
    """The committed reference, checked: its version, tolerances and rows."""
    try:
        reference = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"regression reference {path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(reference, dict) or reference.get("version") != REFERENCE_VERSION:
        found = reference.get("version") if isinstance(reference, dict) else type(reference).__name__
        raise DataError(f"regression reference {path}: expected version {REFERENCE_VERSION}, found {found!r}")
    check_tolerance(path, reference.get("tolerance", {}))
    if not isinstance(reference.get("rows"), dict) or not reference["rows"]:
        raise DataError(f"regression reference {path}: expected a non-empty 'rows' table, found none")
    return reference

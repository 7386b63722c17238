"""CI guard: the CI-sized run must not move any metric the wrong way beyond the stated tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.errors import DataError
from eval.regression import compare, load_reference, summarise_results
from tests.regression.ci_run import REFERENCE


def test_no_metric_regressed(ci_run: Path) -> None:
    reference = load_reference(REFERENCE)
    changes = compare(reference, summarise_results(ci_run / "results"))
    assert len(changes) >= 64  # every reference decoder, all eight metrics, two subjects
    regressed = [c.describe() for c in changes if c.regressed]
    assert not regressed, (
        "metrics regressed (refresh with python -m tests.regression.ci_run --update only if intended):\n"
        + "\n".join(regressed)
    )


def test_reference_pins_the_bounds(ci_run: Path) -> None:
    rows = load_reference(REFERENCE)["rows"]
    assert rows["subj01/ground_truth"]["pixcorr"]["value"] == pytest.approx(1.0)
    assert rows["subj01/nearest_neighbour"]["pixcorr"]["value"] > rows["subj01/random"]["pixcorr"]["value"]


def _reference(value: float, direction: str) -> dict:
    return {"tolerance": {"default": 0.01}, "rows": {"r": {"m": {"value": value, "direction": direction}}}}


@pytest.mark.parametrize(
    ("direction", "current", "regressed"),
    [
        ("higher", 0.48, True),
        ("higher", 0.495, False),
        ("higher", 0.9, False),
        ("lower", 0.52, True),
        ("lower", 0.505, False),
        ("lower", 0.1, False),
    ],
)
def test_compare_flags_only_the_wrong_direction_beyond_tolerance(
    direction: str, current: float, regressed: bool
) -> None:
    (change,) = compare(_reference(0.5, direction), {"r": {"m": {"value": current, "direction": direction}}})
    assert change.regressed is regressed


def test_a_row_missing_from_the_run_is_an_error() -> None:
    with pytest.raises(DataError, match="row 'r' is missing"):
        compare(_reference(0.5, "higher"), {})

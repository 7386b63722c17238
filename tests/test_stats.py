"""Percentile bootstrap of a mean over images."""

from __future__ import annotations

import numpy as np
import pytest

from eval.errors import InputError
from eval.stats import bootstrap_mean_ci, summarise


@pytest.fixture(scope="module")
def scores() -> np.ndarray:
    return np.random.default_rng(1).beta(2, 5, size=982)


def test_interval_contains_the_mean_and_is_about_two_standard_errors_wide(scores) -> None:
    low, high = bootstrap_mean_ci(scores)
    assert low < scores.mean() < high
    se = scores.std(ddof=1) / np.sqrt(scores.size)
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_interval_narrows_with_more_images() -> None:
    rng = np.random.default_rng(2)
    widths = [np.subtract(*bootstrap_mean_ci(rng.normal(size=n))[::-1]) for n in (100, 10_000)]
    assert widths[1] < widths[0] / 5  # ~10x narrower for 100x the images


def test_same_seed_same_interval_other_seed_other_interval(scores) -> None:
    assert bootstrap_mean_ci(scores, seed=3) == bootstrap_mean_ci(scores, seed=3)
    assert bootstrap_mean_ci(scores, seed=3) != bootstrap_mean_ci(scores, seed=4)


def test_higher_confidence_is_wider(scores) -> None:
    narrow = bootstrap_mean_ci(scores, confidence=0.8)
    wide = bootstrap_mean_ci(scores, confidence=0.99)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]


def test_large_n_is_processed_in_blocks_with_the_same_answer_shape() -> None:
    values = np.random.default_rng(5).normal(size=50_000)  # 50k x 2000 would be 800 MB at once
    low, high = bootstrap_mean_ci(values, n_boot=500)
    assert low < values.mean() < high


def test_constant_values_give_a_point_interval() -> None:
    assert bootstrap_mean_ci(np.full(10, 0.25)) == pytest.approx((0.25, 0.25))


@pytest.mark.parametrize("values", [[], [[0.1, 0.2]], [0.1, np.nan], [np.inf, 1.0]], ids=["empty", "2d", "nan", "inf"])
def test_bad_values_are_rejected(values) -> None:
    with pytest.raises(InputError, match="per-image values"):
        bootstrap_mean_ci(values)


def test_summarise_is_json_ready(scores) -> None:
    out = summarise(scores)
    assert set(out) == {"value", "ci95", "n"}
    assert out["value"] == pytest.approx(scores.mean()) and out["n"] == 982
    assert type(out["value"]) is float and all(type(v) is float for v in out["ci95"])
    assert list(bootstrap_mean_ci(scores)) == out["ci95"]

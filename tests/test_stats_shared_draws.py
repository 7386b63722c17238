"""Intervals of several metrics from one draw of resamples equal those of one metric at a time, exactly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from eval.errors import InputError
from eval.stats import stratified_mean_ci, stratified_mean_cis

BLOCK = 4_000_000  # indices per block of the reference below, as in eval.stats


def reference_interval(groups: Sequence[np.ndarray], n_boot: int, seed: int) -> tuple[float, float]:
    """The stratified interval drawn one metric at a time: per group, blocks of resample indices from one
    generator, each block's row means, then the mean over groups and its 95% percentile interval."""
    rng = np.random.default_rng(seed)
    per_group = []
    for values in groups:
        n = values.size
        rows = max(1, BLOCK // n)
        blocks = [values[rng.integers(0, n, size=(min(rows, n_boot - s), n))].mean(axis=1)
                  for s in range(0, n_boot, rows)]
        per_group.append(np.concatenate(blocks))
    alpha = (1 - 0.95) / 2  # not 0.025 exactly
    low, high = np.quantile(np.mean(per_group, axis=0), [alpha, 1 - alpha])
    return float(low), float(high)


@pytest.mark.parametrize("sizes", [(200,), (200, 180, 200, 7), (1, 2), (30_000, 9)])
def test_each_row_equals_the_one_metric_interval_and_the_reference(sizes: tuple[int, ...]) -> None:
    rng = np.random.default_rng(11)
    groups = [rng.beta(2, 5, size=(8, n)) for n in sizes]
    n_boot = 300 if max(sizes) > 1000 else 2000
    shared = stratified_mean_cis(groups, n_boot=n_boot, seed=4)
    for k in range(8):
        rows = [g[k] for g in groups]
        assert shared[k] == stratified_mean_ci(rows, n_boot=n_boot, seed=4) == reference_interval(rows, n_boot, 4)


def test_groups_must_hold_the_same_rows_and_finite_values() -> None:
    with pytest.raises(InputError):
        stratified_mean_cis([np.zeros((2, 5)), np.zeros((3, 5))])
    with pytest.raises(InputError):
        stratified_mean_cis([np.array([[0.0, np.nan]])])
    with pytest.raises(InputError):
        stratified_mean_cis([])

"""Uncertainty of a mean over test images: percentile bootstrap, vectorised and seeded; stratified (within each
subject) for a mean of subjects' means, and paired for a difference of two decoders on the same images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eval.errors import InputError

# Resampled indices per block (n_boot rows x n columns), so memory stays bounded for large n.
_MAX_BLOCK_ELEMENTS = 4_000_000


def _as_values(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"per-image values: expected a non-empty 1-D array, found shape {list(array.shape)}")
    if not np.isfinite(array).all():
        raise InputError(
            f"per-image values: expected finite numbers, found {int((~np.isfinite(array)).sum())} "
            f"NaN or infinite of {array.size}"
        )
    return array


def bootstrap_mean_ci(values: Any, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean over images.

    Args:
        values: One score per image.
        n_boot: Bootstrap resamples.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of the resampling; the same inputs and seed give the same interval.

    Returns:
        (low, high).

    Raises:
        InputError: `values` is empty, not 1-D or not finite.
    """
    _, low, high = _bootstrap_means([_as_values(values)], n_boot, confidence, seed)
    return low, high


def stratified_mean_ci(
    groups: Sequence[Any], n_boot: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of a mean of group means (subjects' means), by a stratified bootstrap.

    Each resample draws every group's values with replacement within that group, takes each group's mean, then
    the mean over groups: the groups themselves are fixed (the subjects are the ones reported), only their test
    images are uncertain. With one group this is `bootstrap_mean_ci`, resample for resample.

    Args:
        groups: One array of per-image scores per group (sizes may differ).
        n_boot: Bootstrap resamples.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of the resampling.

    Raises:
        InputError: No group, or a group is empty, not 1-D or not finite.
    """
    _, low, high = _bootstrap_means(_as_groups(groups), n_boot, confidence, seed)
    return low, high


def stratified_mean_cis(
    groups: Sequence[Any], n_boot: int = 2000, confidence: float = 0.95, seed: int = 0
) -> list[tuple[float, float]]:
    """`stratified_mean_ci` of several scores of the same images at once, drawing the resamples once.

    Row k's interval is exactly `stratified_mean_ci([group[k] for group in groups], ...)`: the resample indices
    depend only on the seed and the groups' sizes, so one draw per group serves every row.

    Args:
        groups: One (rows x images) array per group: each row one score (a metric) of the group's images.
        n_boot: Bootstrap resamples.
        confidence: Coverage of the intervals, in (0, 1).
        seed: Seed of the resampling.

    Returns:
        One (low, high) per row.

    Raises:
        InputError: No group, groups with different numbers of rows, or a row empty or not finite.
    """
    if len(groups) == 0:
        raise InputError("stratified bootstrap: expected at least one group of per-image values, found none")
    matrices = [_as_matrix(g) for g in groups]
    if len({m.shape[0] for m in matrices}) != 1:
        raise InputError(
            f"stratified bootstrap: expected the same rows in every group, found {[m.shape[0] for m in matrices]}"
        )
    _, lows, highs = _bootstrap_row_means(matrices, n_boot, confidence, seed)
    return [(float(low), float(high)) for low, high in zip(lows, highs)]


def _as_matrix(rows: Any) -> np.ndarray:
    return np.stack([_as_values(row) for row in rows])


def _as_groups(groups: Sequence[Any]) -> list[np.ndarray]:
    if len(groups) == 0:
        raise InputError("stratified bootstrap: expected at least one group of per-image values, found none")
    return [_as_values(g) for g in groups]


def _bootstrap_means(
    arrays: list[np.ndarray], n_boot: int, confidence: float, seed: int
) -> tuple[np.ndarray, float, float]:
    """The means over `arrays` of each array's resampled mean, for `n_boot` seeded resamples (each array drawn
    with replacement within itself, from one generator in array order), and their percentile interval."""
    means, lows, highs = _bootstrap_row_means([a[np.newaxis] for a in arrays], n_boot, confidence, seed)
    return means[0], float(lows[0]), float(highs[0])


def _bootstrap_row_means(
    matrices: list[np.ndarray], n_boot: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_bootstrap_means` of every row of (rows x n) `matrices` (one per group), with one draw of indices per
    group for all rows: the (rows x n_boot) means and each row's interval ends."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), found {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, found {n_boot}")
    rng = np.random.default_rng(seed)
    means = np.mean([_resampled_row_means(matrix, n_boot, rng) for matrix in matrices], axis=0)
    alpha = (1 - confidence) / 2
    lows, highs = np.quantile(means, [alpha, 1 - alpha], axis=1)
    return means, lows, highs


def _resampled_row_means(matrix: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(rows x n_boot): each row's mean over the same resamples of its n columns, drawn in blocks of at most
    `_MAX_BLOCK_ELEMENTS` indices (the block size depends on n only, so the draws do not depend on the rows)."""
    n = matrix.shape[1]
    rows = max(1, _MAX_BLOCK_ELEMENTS // n)
    blocks = []
    for start in range(0, n_boot, rows):
        indices = rng.integers(0, n, size=(min(rows, n_boot - start), n))
        blocks.append(np.stack([row[indices].mean(axis=1) for row in matrix]))
    return np.concatenate(blocks, axis=1)


def summarise(values: Any, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean, 95% bootstrap interval and count of per-image values.

    Returns:
        {"value": mean, "ci95": [low, high], "n": count}, plain Python types (JSON-ready).
    """
    array = _as_values(values)
    low, high = bootstrap_mean_ci(array, n_boot=n_boot, confidence=0.95, seed=seed)
    return {"value": float(array.mean()), "ci95": [low, high], "n": int(array.size)}


def paired_bootstrap(
    a: Any, b: Any, n_boot: int = 2000, confidence: float = 0.95, seed: int = 0, direction: str = "higher"
) -> dict[str, Any]:
    """Paired bootstrap of the difference of means of two decoders' per-image scores on the same images.

    Images are resampled together, so what both decoders share about an image cancels.

    Args:
        a: Per-image scores of decoder A.
        b: Per-image scores of decoder B, same images in the same order.
        n_boot: Bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed of the resampling.
        direction: "higher" or "lower": which way the metric is better.

    Returns:
        {"difference": mean(a) - mean(b), "ci95": [low, high], "p_a_not_better": the fraction of resamples in
        which A is not better than B (a one-sided bootstrap p-value), "n": count}.

    Raises:
        InputError: The arrays are empty, not finite, or of different lengths.
    """
    return stratified_paired_bootstrap([a], [b], n_boot=n_boot, confidence=confidence, seed=seed, direction=direction)


def stratified_paired_bootstrap(
    a: Sequence[Any],
    b: Sequence[Any],
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    direction: str = "higher",
) -> dict[str, Any]:
    """`paired_bootstrap` of a mean over groups (subjects): per group, A's and B's scores of the same images.

    Each resample draws every group's images with replacement within the group (A and B together), takes each
    group's mean difference, then the mean over groups (see `stratified_mean_ci`). One group is
    `paired_bootstrap`.

    Returns:
        As `paired_bootstrap`, with "difference" the mean over groups of the groups' mean differences and "n" the
        count of images over all groups.

    Raises:
        InputError: No group, a group's arrays are empty, not finite, or of different lengths.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', found {direction!r}")
    if len(a) != len(b):
        raise InputError(f"paired bootstrap: expected the same groups for A and B, found {len(a)} and {len(b)}")
    diffs = []
    for x, y in zip(_as_groups(a), _as_groups(b)):
        if x.shape != y.shape:
            raise InputError(
                f"paired bootstrap: expected scores of the same images, found {x.size} and {y.size} values"
            )
        diffs.append(x - y)
    means, low, high = _bootstrap_means(diffs, n_boot, confidence, seed)
    not_better = means <= 0 if direction == "higher" else means >= 0
    return {
        "difference": float(np.mean([d.mean() for d in diffs])),
        "ci95": [low, high],
        "p_a_not_better": float(not_better.mean()),
        "n": int(sum(d.size for d in diffs)),
    }


def identification_p_value(scores: Any) -> float:
    """Brain-Diffuser's binomial p-value of a two-way identification: P(X > k) for X ~ Binomial(N(N-1), 0.5).

    Written there as 1 - binom.cdf(score * N * (N - 1), N * (N - 1), 0.5), with score the mean per-image
    score; k, the number of won comparisons, is recovered exactly from the per-image scores (each count/(N-1)).
    The survival function is used for accuracy far in the tail.

    Args:
        scores: Per-reconstruction two-way identification scores.
    """
    from scipy.stats import binom

    values = _as_values(scores)
    n = values.size
    if n < 2:
        raise InputError(f"identification p-value: expected at least 2 images, found {n}")
    trials = n * (n - 1)
    wins = int(np.rint(values * (n - 1)).sum())
    return float(binom.sf(wins, trials, 0.5))

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


def _as_groups(groups: Sequence[Any]) -> list[np.ndarray]:
    if len(groups) == 0:
        raise InputError("stratified bootstrap: expected at least one group of per-image values, found none")
    return [_as_values(g) for g in groups]


def _bootstrap_means(
    arrays: list[np.ndarray], n_boot: int, confidence: float, seed: int
) -> tuple[np.ndarray, float, float]:
    """The means over `arrays` of each array's resampled mean, for `n_boot` seeded resamples (each array drawn
    with replacement within itself, from one generator in array order), and their percentile interval."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), found {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, found {n_boot}")
    rng = np.random.default_rng(seed)
    means = np.mean([_resampled_means(array, n_boot, rng) for array in arrays], axis=0)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return means, float(low), float(high)


def _resampled_means(array: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = array.size
    rows = max(1, _MAX_BLOCK_ELEMENTS // n)
    return np.concatenate(
        [
            array[rng.integers(0, n, size=(min(rows, n_boot - start), n))].mean(axis=1)
            for start in range(0, n_boot, rows)
        ]
    )


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

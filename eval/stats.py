"""Uncertainty of a mean over test images: percentile bootstrap, vectorised and seeded."""

from __future__ import annotations

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
    _, low, high = _bootstrap_means(_as_values(values), n_boot, confidence, seed)
    return low, high


def _bootstrap_means(array: np.ndarray, n_boot: int, confidence: float, seed: int) -> tuple[np.ndarray, float, float]:
    """The means of `n_boot` seeded resamples of `array` (with replacement), and their percentile interval."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), found {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, found {n_boot}")
    n = array.size
    rng = np.random.default_rng(seed)
    rows = max(1, _MAX_BLOCK_ELEMENTS // n)
    means = np.concatenate(
        [
            array[rng.integers(0, n, size=(min(rows, n_boot - start), n))].mean(axis=1)
            for start in range(0, n_boot, rows)
        ]
    )
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return means, float(low), float(high)


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
    a = _as_values(a)
    b = _as_values(b)
    if a.shape != b.shape:
        raise InputError(f"paired bootstrap: expected scores of the same images, found {a.size} and {b.size} values")
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', found {direction!r}")
    diff = a - b
    means, low, high = _bootstrap_means(diff, n_boot, confidence, seed)
    not_better = means <= 0 if direction == "higher" else means >= 0
    return {
        "difference": float(diff.mean()),
        "ci95": [low, high],
        "p_a_not_better": float(not_better.mean()),
        "n": int(diff.size),
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

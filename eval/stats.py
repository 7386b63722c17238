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
    array = _as_values(values)
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
    return float(low), float(high)


def summarise(values: Any, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean, 95% bootstrap interval and count of per-image values.

    Returns:
        {"value": mean, "ci95": [low, high], "n": count}, plain Python types (JSON-ready).
    """
    array = _as_values(values)
    low, high = bootstrap_mean_ci(array, n_boot=n_boot, confidence=0.95, seed=seed)
    return {"value": float(array.mean()), "ci95": [low, high], "n": int(array.size)}

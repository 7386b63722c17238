"""Ridge regression with one penalty chosen on a held-out part of the training data (the retrieval floor's).

One thin SVD serves every candidate penalty, so the search costs one decomposition; penalties are relative to
the mean squared singular value, so the grid suits any voxel count or scale. The multi-target ridge with a
cross-validated penalty per target or token, solved in the dual for NSD-sized problems, is `baselines.ridge_cv`
(the Brain-Diffuser and Takagi baselines use it); this one stays as it is so the pinned reference metrics hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RELATIVE_ALPHAS = tuple(np.logspace(-3, 2, 11))


@dataclass(frozen=True)
class RidgeModel:
    weights: np.ndarray  # (n_features_in, n_outputs)
    x_mean: np.ndarray
    y_mean: np.ndarray
    alpha: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.x_mean) @ self.weights + self.y_mean


def _svd_solutions(x: np.ndarray, y: np.ndarray, alphas: np.ndarray):
    """Yield (alpha, weights) for each absolute penalty from one thin SVD of centred x."""
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    uty = u.T @ y
    for alpha in alphas:
        yield alpha, vt.T @ ((s / (s**2 + alpha))[:, None] * uty)


def _mean_correlation(pred: np.ndarray, target: np.ndarray) -> float:
    pred = pred - pred.mean(axis=0)
    target = target - target.mean(axis=0)
    denom = np.sqrt((pred**2).sum(axis=0) * (target**2).sum(axis=0))
    return float(np.mean(np.where(denom > 0, (pred * target).sum(axis=0) / np.where(denom > 0, denom, 1), 0.0)))


def fit_ridge(
    x: np.ndarray, y: np.ndarray, relative_alphas=RELATIVE_ALPHAS, val_fraction: float = 0.15, seed: int = 0
) -> RidgeModel:
    """Fit y ~ x, choosing the penalty by mean output correlation on a random held-out fraction."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(val_fraction * len(x))))
    val, train = order[:n_val], order[n_val:]
    x_mean, y_mean = x[train].mean(axis=0), y[train].mean(axis=0)
    xc = x[train] - x_mean
    scale = float((xc**2).sum() / min(xc.shape))  # mean squared singular value
    alphas = np.asarray(relative_alphas) * scale
    scores = [
        _mean_correlation((x[val] - x_mean) @ w, y[val] - y_mean)
        for _, w in _svd_solutions(xc, y[train] - y_mean, alphas)
    ]
    best = float(alphas[int(np.argmax(scores))])
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    ((_, weights),) = _svd_solutions(x - x_mean, y - y_mean, np.array([best]))
    return RidgeModel(weights=weights, x_mean=x_mean, y_mean=y_mean, alpha=best)

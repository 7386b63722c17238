"""Multi-target ridge regression, penalties chosen per target (or per group of targets) by K-fold cross-validation.

Solved in the dual, as himalaya's kernel ridge does: the centred linear kernel of the training rows (n x n; fewer
rows than voxels at NSD's size) is decomposed once for the whole split and once per fold, and every candidate
penalty and every target reuse those decompositions. Targets stream through in chunks, so the memory a fit needs
grows with the number of rows and voxels, not with the number of targets (at NSD's size: 8,859 rows, 15,724
voxels, and 257 x 768 image-token outputs; `tests/benchmarks/test_bench_ridge.py`).

For penalty a, with X_c the centred inputs, Y_c the centred targets and K = X_c X_c^T = U diag(lam) U^T:

    W = (X_c^T X_c + a I)^-1 X_c^T Y_c = X_c^T (K + a I)^-1 Y_c = (X_c^T U) diag(1 / (lam + a)) (U^T Y_c),

so a fit keeps `basis` = X_c^T U (voxels x rank) and `coef` = diag(1 / (lam + a_j)) U^T y_j per target j, and a
prediction is (x - x_mean) @ basis @ coef + y_mean. Cross-validation follows himalaya's `RidgeCV`: the score of a
penalty is the negative mean squared error on the held-out fold, centred with the training fold's means,
averaged over folds; ties go to the larger penalty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

# Candidate penalties relative to the mean eigenvalue of the training kernel (for z-scored inputs: the voxel
# count), so one grid suits any voxel count; Brain-Diffuser's fixed 50,000 to 100,000 at 15,724 voxels are 3.2 to
# 6.4 on this scale.
RELATIVE_GRID = tuple(float(a) for a in np.logspace(-2, 2.5, 10))
COLUMN_BLOCK = 2048  # voxels per block when forming kernels in float64 from float32 inputs

Targets = np.ndarray | torch.Tensor | Callable[[int, int], np.ndarray | torch.Tensor]


@dataclass(frozen=True)
class Decomposition:
    """Eigendecomposition of one centred training kernel; `cross` maps held-out rows into its eigenbasis."""

    train: torch.Tensor  # row indices
    eigenvalues: torch.Tensor  # (rank,) float64, positive
    vectors: torch.Tensor  # (n_train, rank)
    held_out: torch.Tensor | None = None
    cross: torch.Tensor | None = None  # (n_held_out, rank): centred cross-kernel times `vectors`


@dataclass
class RidgeFit:
    """A fitted multi-target ridge: predictions are (x - x_mean) @ basis @ coef + y_mean."""

    x_mean: torch.Tensor  # (n_features,)
    basis: torch.Tensor  # (n_features, rank)
    coef: torch.Tensor  # (rank, n_targets)
    y_mean: torch.Tensor  # (n_targets,)
    y_std: torch.Tensor  # (n_targets,) training targets' standard deviation (for rescaling predictions)
    alphas: torch.Tensor  # (n_targets,) the penalty each target was fitted with
    cv_scores: torch.Tensor  # (n_targets,) negative mean squared error at that penalty (NaN: no CV)

    @property
    def n_features(self) -> int:
        return int(self.x_mean.shape[0])

    def predict(self, x: np.ndarray | torch.Tensor, chunk: int = 65536) -> torch.Tensor:
        """Predictions (n, n_targets) in the fit's dtype, on its device."""
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        features = (x.to(self.basis) - self.x_mean) @ self.basis
        parts = [features @ self.coef[:, s : s + chunk] for s in range(0, self.coef.shape[1], chunk)]
        return torch.cat(parts, dim=1) + self.y_mean

    def to_arrays(self, prefix: str, shared: str | None = None) -> dict[str, torch.Tensor]:
        """Named CPU tensors for a safetensors file; `shared` names the inputs' part (x_mean, basis), which every
        fit from the same inputs has in common, so it can be stored once."""
        return {_name(field, prefix, shared): getattr(self, field).detach().cpu().contiguous() for field in _FIELDS}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, torch.Tensor], prefix: str, shared: str | None = None, device: str = "cpu"
    ) -> RidgeFit:
        return cls(**{field: arrays[_name(field, prefix, shared)].to(device) for field in _FIELDS})

    def cv_r2(self) -> float | None:
        """Mean cross-validated R^2 over the targets that vary: 1 - held-out MSE / training variance (None: no CV)."""
        var = self.y_std.double() ** 2
        ok = (var > 0) & ~torch.isnan(self.cv_scores)
        if not bool(ok.any()):
            return None
        return float((1 + self.cv_scores.double()[ok] / var[ok]).mean())

    def summary(self) -> str:
        """The chosen penalties and the CV fit in one line: 'alpha median 1.2e+04 (3.1e+03 to 1e+05 over 768
        targets); CV R2 0.412'."""
        a = self.alphas.double().cpu()
        median = float(a.median())
        if float(a.min()) == float(a.max()):
            text = f"alpha {median:.3g}"
        else:
            text = f"alpha median {median:.3g} ({float(a.min()):.3g} to {float(a.max()):.3g} over {a.numel()} targets)"
        r2 = self.cv_r2()
        return text if r2 is None else f"{text}; CV R2 {r2:.3f}"


_FIELDS = ("x_mean", "basis", "coef", "y_mean", "y_std", "alphas", "cv_scores")


def _name(field: str, prefix: str, shared: str | None) -> str:
    return f"{shared if shared is not None and field in ('x_mean', 'basis') else prefix}.{field}"


class DualRidge:
    """Training inputs decomposed once, solved against any number of target sets and penalties.

    Args:
        x: Training inputs (n_rows, n_features).
        folds: Folds of the cross-validation (shuffled K-fold); used only when a fit has several penalties.
        seed: Seed of the fold assignment.
        device: Where the products run (a GPU takes them all).
        dtype: dtype of the stored basis, coefficients and the products with targets; kernels and their
            eigendecompositions are always float64.
    """

    def __init__(
        self,
        x: np.ndarray | torch.Tensor,
        *,
        folds: int = 5,
        seed: int = 0,
        device: str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).to(device, dtype)
        if self.x.ndim != 2 or self.x.shape[0] < 2:
            raise ValueError(f"ridge inputs: expected a 2-D array with at least 2 rows, found {list(self.x.shape)}")
        n = self.x.shape[0]
        if not 2 <= folds <= n:
            raise ValueError(f"ridge folds: expected 2 to {n} (the number of rows), found {folds}")
        self.device, self.dtype, self.folds, self.seed = device, dtype, folds, seed
        self.gram = self._gram()  # uncentred X X^T, float64
        self.x_mean = self.x.double().mean(0)
        self.full = self._decompose(np.arange(n), None)
        self._fold_parts: list[Decomposition] | None = None

    # --- decompositions -----------------------------------------------------------------------------------
    def _gram(self) -> torch.Tensor:
        gram = torch.zeros(self.x.shape[0], self.x.shape[0], dtype=torch.float64, device=self.device)
        for start in range(0, self.x.shape[1], COLUMN_BLOCK):
            block = self.x[:, start : start + COLUMN_BLOCK].double()
            gram += block @ block.T
        return gram

    def _decompose(self, train: np.ndarray, held_out: np.ndarray | None) -> Decomposition:
        """Eigendecomposition of the kernel of `train` centred with its own means (from the Gram matrix)."""
        t = torch.as_tensor(train, device=self.device)
        g_tt = self.gram[t][:, t]
        row = g_tt.mean(1)
        kernel = g_tt - row[:, None] - row[None, :] + row.mean()
        eigenvalues, vectors = torch.linalg.eigh(kernel)
        keep = eigenvalues > eigenvalues[-1].clamp(min=0) * 1e-10 * kernel.shape[0]  # centring removes one rank
        eigenvalues, vectors = eigenvalues[keep], vectors[:, keep]
        cross = h = None
        if held_out is not None:
            h = torch.as_tensor(held_out, device=self.device)
            g_ht = self.gram[h][:, t]
            centred = g_ht - g_ht.mean(1, keepdim=True) - row[None, :] + row.mean()
            cross = (centred @ vectors).to(self.dtype)
        return Decomposition(t, eigenvalues, vectors.to(self.dtype), h, cross)

    def splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (train, held-out) row indices of each fold: a seeded shuffle cut into `folds` near-equal parts."""
        order = np.random.default_rng(self.seed).permutation(self.x.shape[0])
        parts = np.array_split(order, self.folds)
        return [(np.sort(np.concatenate(parts[:k] + parts[k + 1 :])), np.sort(parts[k])) for k in range(self.folds)]

    def fold_parts(self) -> list[Decomposition]:
        if self._fold_parts is None:
            self._fold_parts = [self._decompose(train, held) for train, held in self.splits()]
        return self._fold_parts

    @property
    def mean_eigenvalue(self) -> float:
        """Mean eigenvalue of the whole split's centred kernel (trace / rows): the scale of `RELATIVE_GRID`."""
        return float(self.full.eigenvalues.sum()) / self.x.shape[0]

    def alpha_grid(self, relative: tuple[float, ...] = RELATIVE_GRID) -> tuple[float, ...]:
        return tuple(float(r) * self.mean_eigenvalue for r in relative)

    @cached_property
    def basis(self) -> torch.Tensor:
        """X_c^T U (n_features, rank), computed on first use."""
        return (self.x - self.x_mean.to(self.dtype)).T @ self.full.vectors

    # --- fitting ------------------------------------------------------------------------------------------
    def fit(
        self,
        targets: Targets,
        n_targets: int | None = None,
        *,
        alphas: tuple[float, ...] | None = None,
        group_size: int | None = 1,
        chunk: int = 8192,
        keep: Callable[[int, int, torch.Tensor], None] | None = None,
    ) -> RidgeFit:
        """Ridge from the inputs to `targets`, one penalty per group of `group_size` consecutive targets.

        Args:
            targets: (n_rows, n_targets) array, or a function (start, stop) -> that block of columns (so targets
                that do not fit in memory can be read or made block by block).
            n_targets: Required when `targets` is a function.
            alphas: Candidate penalties (absolute); default `alpha_grid()`. One penalty: no cross-validation.
            group_size: Targets that share a penalty (1: each its own, as himalaya's `RidgeCV`; None: all share
                one). A block of targets never splits a group.
            chunk: Targets per block (rounded to whole groups).
            keep: Called with (start, stop, coefficients) for each block instead of keeping the coefficients in
                the result (whose `coef` is then empty): how a fit larger than memory writes them elsewhere.
        """
        n_targets = _count(targets, n_targets)
        alphas = torch.tensor(alphas or self.alpha_grid(), dtype=torch.float64, device=self.device)
        group = n_targets if group_size is None else group_size
        if group < 1 or n_targets % group:
            raise ValueError(f"ridge group_size: expected a divisor of {n_targets} targets, found {group_size}")
        step = max(group, chunk // group * group)
        results: dict[str, list[torch.Tensor]] = {k: [] for k in ("coef", "y_mean", "y_std", "alphas", "cv_scores")}
        for start in range(0, n_targets, step):
            stop = min(n_targets, start + step)
            y = _block(targets, start, stop).to(self.device, self.dtype)
            chosen, scores = self._choose(y, alphas, group)
            coef, y_mean = self._solve(y, chosen)
            if keep is not None:
                keep(start, stop, coef)
                coef = coef[:, :0]
            y_std = y.double().std(0, correction=0)
            for name, value in zip(results, (coef, y_mean, y_std, chosen, scores)):
                results[name].append(value.to(self.dtype))
        merged = {name: torch.cat(parts, dim=-1) for name, parts in results.items()}
        return RidgeFit(x_mean=self.x_mean.to(self.dtype), basis=self.basis, **merged)

    def _choose(self, y: torch.Tensor, alphas: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per target: the penalty its group chose and its cross-validated score there (NaN without CV)."""
        if alphas.numel() == 1:
            return alphas.expand(y.shape[1]).clone(), torch.full((y.shape[1],), float("nan"), device=self.device)
        scores = torch.zeros(alphas.numel(), y.shape[1], dtype=torch.float64, device=self.device)
        for part in self.fold_parts():
            y_train = y[part.train]
            y_mean = y_train.mean(0)
            projected = part.vectors.T @ (y_train - y_mean)  # (rank, targets)
            held = y[part.held_out] - y_mean
            for k, alpha in enumerate(alphas):
                shrink = (1.0 / (part.eigenvalues + alpha)).to(self.dtype)[:, None]
                error = held - part.cross @ (shrink * projected)
                scores[k] += -(error.double() ** 2).mean(0)
        scores /= len(self.fold_parts())
        tilted = scores + 1e-10 * torch.log(alphas)[:, None]  # ties go to the larger penalty (himalaya's rule)
        grouped = tilted.view(alphas.numel(), -1, group).mean(-1)  # (alphas, groups)
        best = grouped.argmax(0).repeat_interleave(group)
        return alphas[best], scores.gather(0, best[None]).squeeze(0)

    def _solve(self, y: torch.Tensor, chosen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Coefficients diag(1 / (lam + a_j)) U^T (y_j - mean) on the whole split, and the targets' means."""
        y_mean = y.double().mean(0).to(self.dtype)
        projected = self.full.vectors.T @ (y - y_mean)
        shrink = 1.0 / (self.full.eigenvalues[:, None] + chosen[None, :])
        return (shrink.to(self.dtype) * projected), y_mean


def _count(targets: Targets, n_targets: int | None) -> int:
    if callable(targets):
        if n_targets is None:
            raise ValueError("ridge targets: a function of (start, stop) needs n_targets")
        return n_targets
    return int(targets.shape[1])


def _block(targets: Targets, start: int, stop: int) -> torch.Tensor:
    block = targets(start, stop) if callable(targets) else targets[:, start:stop]
    return block if isinstance(block, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(block))

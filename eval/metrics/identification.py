"""Two-way identification and correlation distance over standardised features, as pure functions.

Features are standardised once per image (row centred, unit norm), so every Pearson correlation is one dot
product: the whole ground-truth x reconstruction correlation matrix is one float32 N x D by D x N product,
never the naive float64 2N x D correlation matrix. Comparisons within float32 error of a tie are settled
exactly in float64, as the sign of (g_j - g_i) . r_i, so ties (identical ground-truth features) lose as the
definition says.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from eval.errors import InputError

log = logging.getLogger(__name__)

# |R[j, i] - R[i, i]| below this in float32 is decided again in float64 (float32 error on unit vectors of
# 200k dimensions stays below 1e-5).
NEAR_TIE = 1e-4
_ROW_CHUNK = 256  # rows per float64 step when standardising
_TIE_CHUNK = 64  # float64 difference vectors per step when settling near ties


def standardise_rows(features: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Each row centred and scaled to unit norm (float64 sums, float32 result; constant rows become 0).

    Args:
        features: [N, ...] features of N images (flattened per image).

    Returns:
        float32 [N, D] with r(x_i, y_j) = x_i . y_j for two standardised sets.
    """
    x = torch.as_tensor(features)
    x = x.reshape(x.shape[0], -1)
    out = torch.empty(x.shape, dtype=torch.float32)
    constant = 0
    for start in range(0, x.shape[0], _ROW_CHUNK):
        rows = x[start : start + _ROW_CHUNK]
        # Sums in float64; the centred values themselves need no more than float32, the type of the result.
        mean = rows.mean(dim=1, keepdim=True, dtype=torch.float64)
        centred = (rows - mean).float() if rows.dtype == torch.float64 else rows - mean.to(rows.dtype)
        norm = torch.linalg.vector_norm(centred, dim=1, keepdim=True, dtype=torch.float64)
        constant += int((norm == 0).sum())
        scale = torch.where(norm > 0, 1 / norm.clamp_min(1e-300), 0.0).float()
        out[start : start + _ROW_CHUNK] = centred.float().mul_(scale)
    if constant:
        log.warning("%d image(s) have constant features: their correlations are undefined, scored as 0", constant)
    return out


def _check(gt: torch.Tensor, recon: torch.Tensor, where: str) -> None:
    if gt.ndim != 2 or gt.shape != recon.shape:
        raise InputError(
            f"{where}: expected standardised features [N, D] of equal shape, found {list(gt.shape)} "
            f"and {list(recon.shape)}"
        )
    if gt.shape[0] < 2:
        raise InputError(f"{where}: needs at least 2 images, found {gt.shape[0]}")


def two_way_identification(gt: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    """Per-reconstruction two-way identification: the fraction of distractors j != i with r(g_j, r_i) <
    r(g_i, r_i) (strict: ties lose).

    Args:
        gt: Standardised ground-truth features [N, D] (`standardise_rows`).
        recon: Standardised reconstruction features [N, D], same image order.

    Returns:
        float64 [N]; the metric is its mean (chance 0.5).
    """
    _check(gt, recon, "two_way_identification")
    n = gt.shape[0]
    corr = gt @ recon.T  # [j, i]: ground truth j against reconstruction i
    diag = corr.diagonal().clone()
    below = corr < (diag - NEAR_TIE)
    near = (corr - diag).abs() <= NEAR_TIE
    near.fill_diagonal_(False)
    near[:, (recon == 0).all(dim=1)] = False  # constant features: r = 0 with everything, all ties, none won
    counts = below.sum(dim=0).to(torch.int64)
    j_idx, i_idx = near.nonzero(as_tuple=True)
    for start in range(0, j_idx.numel(), _TIE_CHUNK):
        j = j_idx[start : start + _TIE_CHUNK]
        i = i_idx[start : start + _TIE_CHUNK]
        difference = gt[j].double() - gt[i].double()  # exactly 0 for identical ground truth: a tie
        wins = (difference * recon[i].double()).sum(dim=1) < 0
        counts.index_add_(0, i, wins.to(torch.int64))
    return counts.numpy().astype(np.float64) / (n - 1)


def identification_counts(scores: np.ndarray) -> int:
    """The total number of won comparisons behind per-image two-way scores (each score is count / (N - 1))."""
    n = len(scores)
    return int(np.rint(np.asarray(scores, dtype=np.float64) * (n - 1)).sum())


def correlation_distance(gt: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    """Per-pair correlation distance 1 - r(g_i, r_i), clipped to [0, 2] as scipy.spatial.distance.correlation
    does, float64 [N]."""
    _check(gt, recon, "correlation_distance")
    dots = torch.zeros(gt.shape[0], dtype=torch.float64)
    for start in range(0, gt.shape[0], _ROW_CHUNK):
        a = gt[start : start + _ROW_CHUNK].double()
        b = recon[start : start + _ROW_CHUNK].double()
        dots[start : start + _ROW_CHUNK] = (a * b).sum(dim=1)
    return (1.0 - dots).clamp_(0.0, 2.0).numpy()

"""Two-way identification and correlation distance over standardised features, as pure functions.

Features are standardised once per image (row centred, unit norm), so every Pearson correlation is one dot
product: the whole ground-truth x reconstruction correlation matrix is one float32 N x D by D x N product,
never the naive float64 2N x D correlation matrix. Comparisons within float32 error of a tie are settled
again as the sign of (g_j - g_i) . r_i summed in float64, so ties (identical ground-truth features) lose as
the definition says.
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
_TIE_CHUNK = 64  # near-tie comparisons settled per step


def standardise_rows(features: torch.Tensor | np.ndarray, out: torch.Tensor | None = None) -> torch.Tensor:
    """Each row centred and scaled to unit norm (float64 sums, float32 result; constant rows become 0).

    Args:
        features: [N, ...] features of N images (flattened per image).
        out: Where to write the result (float32 [N, D]); the work is done in place there, with no
            temporaries of the features' size.

    Returns:
        float32 [N, D] with r(x_i, y_j) = x_i . y_j for two standardised sets (`out` when given).
    """
    x = torch.as_tensor(features)
    x = x.reshape(x.shape[0], -1)
    if out is None:
        out = torch.empty(x.shape, dtype=torch.float32)
    elif out.shape != x.shape or out.dtype != torch.float32:
        raise InputError(f"standardise_rows: out must be float32 {list(x.shape)}, found {out.dtype} {list(out.shape)}")
    constant = 0
    for start in range(0, x.shape[0], _ROW_CHUNK):
        rows = x[start : start + _ROW_CHUNK]
        target = out[start : start + _ROW_CHUNK]
        # Sums in float64; the centred values themselves need no more than float32, the type of the result.
        mean = rows.mean(dim=1, keepdim=True, dtype=torch.float64)
        if rows.dtype == torch.float32:
            torch.sub(rows, mean.float(), out=target)
        else:
            target.copy_(rows - mean)
        norm = torch.linalg.vector_norm(target, dim=1, keepdim=True, dtype=torch.float64)
        constant += int((norm == 0).sum())
        target.mul_(torch.where(norm > 0, 1 / norm.clamp_min(1e-300), 0.0).float())
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


def two_way_identification(gt: torch.Tensor, recon: torch.Tensor, *, standardised: bool = True) -> np.ndarray:
    """Per-reconstruction two-way identification: the fraction of distractors j != i with r(g_j, r_i) <
    r(g_i, r_i) (strict: ties lose).

    Args:
        gt: Ground-truth features [N, D], standardised (`standardise_rows`) unless `standardised` is False.
        recon: Reconstruction features [N, D] in the same image order, standardised likewise.
        standardised: False to standardise both here (embeddings as a network gives them).

    Returns:
        float64 [N]; the metric is its mean (chance 0.5).
    """
    if not standardised:
        gt, recon = standardise_rows(gt), standardise_rows(recon)
    _check(gt, recon, "two_way_identification")
    n = gt.shape[0]
    corr = gt @ recon.T  # [j, i]: ground truth j against reconstruction i
    diag = corr.diagonal().clone()
    below = corr < (diag - NEAR_TIE)
    near = (corr - diag).abs() <= NEAR_TIE
    near.fill_diagonal_(False)
    # Constant features standardise to an all-zero row: r = 0 with everything, all ties, none won.
    near[:, torch.linalg.vector_norm(recon, dim=1) == 0] = False
    counts = below.sum(dim=0).to(torch.int64)
    j_idx, i_idx = near.nonzero(as_tuple=True)
    for start in range(0, j_idx.numel(), _TIE_CHUNK):
        counts.index_add_(0, *_wins(gt, recon, j_idx[start : start + _TIE_CHUNK], i_idx[start : start + _TIE_CHUNK]))
    return counts.numpy().astype(np.float64) / (n - 1)


def _wins(gt: torch.Tensor, recon: torch.Tensor, j: torch.Tensor, i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Comparisons (j, i) settled again as the sign of (g_j - g_i) . r_i: (reconstructions, wins).

    Identical ground truths make the difference exactly 0: a tie, which loses. The products are summed in
    float64, so the sign is right down to the float32 rounding of the standardised features themselves.
    """
    difference = gt[j] - gt[i]
    return i, ((difference * recon[i]).sum(dim=1, dtype=torch.float64) < 0).to(torch.int64)


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

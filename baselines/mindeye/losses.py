"""MindEye's contrastive losses: BiMixCo (voxel mixup, bidirectional) and bidirectional SoftCLIP.

MindEye's SoftCLIP averages both directions (brain -> image rows and image -> brain rows), so it is not HAVIR's
eq. 4 (one direction, `havir.losses.soft_clip_loss`); the precision rule and the unit-length flattening are the
same and are reused from there. Every loss is computed in at least float32.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from havir.losses import flat_unit, full_precision

__all__ = ["cosine_anneal", "flat_unit", "mixco", "mixco_nce", "soft_clip_loss"]


def mixco(
    voxels: torch.Tensor, rng: np.random.Generator, beta: float = 0.15, share: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MixCo input mixing: a random `share` of the rows becomes b * x_i + (1 - b) * x_perm(i), b ~ Beta(beta, beta).

    The draws come from `rng` (not torch's global generator), so a run is the same on every device; `voxels` is
    not changed.

    Returns:
        The mixed voxels, the permutation (CPU), and each row's own weight b (CPU; 1 for rows left unmixed).
    """
    n = voxels.shape[0]
    perm = torch.from_numpy(rng.permutation(n))
    draws = rng.beta(beta, beta, size=n)
    select = rng.random(n) <= share
    betas = torch.from_numpy(np.where(select, draws, 1.0)).float()
    weights = betas.to(voxels.device, voxels.dtype).view(-1, *([1] * (voxels.ndim - 1)))
    mixed = voxels * weights + voxels[perm.to(voxels.device)] * (1 - weights)
    return mixed, perm, betas


def mixco_nce(
    preds: torch.Tensor, targets: torch.Tensor, temp: float, perm: torch.Tensor, betas: torch.Tensor
) -> torch.Tensor:
    """BiMixCo: cross-entropy of softmax(p_i . t_j / temp) against the mixed labels (b_i on j = i, 1 - b_i on
    j = perm(i)), averaged with the same loss of the transposed logits (image -> brain).

    preds and targets are unit-length rows [n, d] of the batch; perm and betas come from `mixco`.
    """
    preds, targets = full_precision(preds), full_precision(targets)
    n = preds.shape[0]
    logits = preds @ targets.T / temp
    rows = torch.arange(n, device=logits.device)
    betas = betas.to(logits.device, logits.dtype)
    probs = torch.zeros_like(logits)
    probs[rows, rows] = betas
    probs[rows, perm.to(logits.device)] += 1 - betas  # a row mixed with itself keeps weight 1
    forward = -(logits.log_softmax(-1) * probs).sum(-1).mean()
    backward = -(logits.T.log_softmax(-1) * probs.T).sum(-1).mean()
    return (forward + backward) / 2


def soft_clip_loss(preds: torch.Tensor, targets: torch.Tensor, temp: float) -> torch.Tensor:
    """MindEye's SoftCLIP: soft labels softmax(t_i . t_j / temp) for the rows of p . t^T / temp and of its
    transpose, the two cross-entropies averaged. preds and targets: unit-length rows [n, d]."""
    preds, targets = full_precision(preds), full_precision(targets)
    labels = (targets @ targets.T / temp).softmax(-1)  # symmetric: the same labels serve both directions
    logits = preds @ targets.T / temp
    forward = -(logits.log_softmax(-1) * labels).sum(-1).mean()
    backward = -(logits.T.log_softmax(-1) * labels).sum(-1).mean()
    return (forward + backward) / 2


def cosine_anneal(start: float, end: float, steps: int) -> list[float]:
    """`steps` values from `start` to `end` along half a cosine (MindEye's SoftCLIP temperature schedule)."""
    if steps <= 1:
        return [start] * max(steps, 0)
    return [end + (start - end) / 2 * (1 + math.cos(math.pi * i / (steps - 1))) for i in range(steps)]

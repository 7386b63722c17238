"""HAVIR's training losses: MSE + Sobel on latents (eqs. 1-3), SoftCLIP + MSE on CLIP tokens (eqs. 4-6).

Every loss is computed in at least float32, whatever the dtype of the predictions (bf16 under mixed precision):
the SoftCLIP logits divided by a small temperature and the sums over a batch need float32's mantissa. Float32 and
float64 inputs are used as they are, so those runs are unchanged. Call the losses outside autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # K_x; K_y = K_x^T


def full_precision(x: torch.Tensor) -> torch.Tensor:
    """`x` in float32 when it is in a half-precision dtype; `x` itself otherwise."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


def sobel(latents: torch.Tensor) -> torch.Tensor:
    """Sobel gradients of every channel: [N, C, H, W] -> [N, 2C, H, W] (x gradients, then y gradients).

    Borders are replicated, so a constant map has zero gradient everywhere.
    """
    channels = latents.shape[1]
    kx = SOBEL_X.to(latents)
    kernels = torch.stack([kx, kx.T]).unsqueeze(1).repeat(channels, 1, 1, 1)  # [2C, 1, 3, 3]
    padded = F.pad(latents, (1, 1, 1, 1), mode="replicate")
    grads = F.conv2d(padded, kernels, groups=channels)  # per channel: (gx, gy)
    n, _, h, w = grads.shape
    return grads.view(n, channels, 2, h, w).transpose(1, 2).reshape(n, 2 * channels, h, w)


def sobel_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 2: squared L2 distance between Sobel gradient maps, averaged over elements and the batch.

    (Averaged over elements rather than summed, so it has the scale of eq. 1's MSE and eq. 3's plain sum of the
    two stays balanced at any latent size.)
    """
    return F.mse_loss(sobel(pred), sobel(target))


def structural_loss(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 3: L_str = L_mse + L_sobel; also returns the parts for logging."""
    pred, target = full_precision(pred), full_precision(target)
    mse = F.mse_loss(pred, target)
    edges = sobel_loss(pred, target)
    return mse + edges, {"str_mse": mse.item(), "str_sobel": edges.item()}


def soft_clip_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    tau: float,
    all_targets: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Eq. 4: cross-entropy of softmax(p_i . t_j / tau) against the soft labels softmax(t_i . t_j / tau).

    Args:
        pred: Predicted embeddings p, [n, d] (the rows i this process owns).
        target: Target embeddings t of the same rows, [n, d].
        tau: Temperature.
        all_targets: Targets of the whole batch (the columns j), [N, d]; default `target`. With several
            processes each one passes its own rows and the gathered targets, so the rows are exactly those of
            the single-process loss.
        reduction: "sum" is eq. 4 as written (summed over rows i); "mean" divides by the number of rows, which
            keeps the loss's scale independent of the batch size.
    """
    pred, target = full_precision(pred), full_precision(target)
    columns = target if all_targets is None else full_precision(all_targets)
    soft_labels = torch.softmax(target @ columns.T / tau, dim=1)
    log_probs = torch.log_softmax(pred @ columns.T / tau, dim=1)
    per_row = -(soft_labels * log_probs).sum(dim=1)
    if reduction == "sum":
        return per_row.sum()
    if reduction == "mean":
        return per_row.mean()
    raise ValueError(f"reduction: expected 'sum' or 'mean', found {reduction!r}")


def flat_unit(tokens: torch.Tensor) -> torch.Tensor:
    """Token maps [N, L, D] flattened to [N, L*D] and scaled to unit length: the vectors SoftCLIP compares."""
    return F.normalize(tokens.flatten(1), dim=1)


def token_loss(
    pred: torch.Tensor, target: torch.Tensor, tau: float, all_targets: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eqs. 5-6 for one head: (SoftCLIP on unit-length flattened tokens, MSE on the tokens themselves)."""
    pred, target = full_precision(pred), full_precision(target)
    gathered = None if all_targets is None else flat_unit(full_precision(all_targets))
    contrastive = soft_clip_loss(flat_unit(pred), flat_unit(target), tau, gathered)
    return contrastive, F.mse_loss(pred, target)

"""Two-way identification in the generation backbone's CLIP image-embedding space.

For each reconstruction i: the share of other test images j whose ground truth correlates less with
reconstruction i than its own ground truth does (Pearson correlation of embeddings), averaged over i. Chance is
0.5. Until the harness scores the CLIP metric with the real CLIP model, this gives HAVIR's ablations a high-level
measure in the space of the backbone it generates with (MiniVD's own CLIP on SynthNSD).
"""

from __future__ import annotations

import torch

from havir.targets import to_backbone_size


@torch.no_grad()
def clip_embeddings(vd, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Projected CLIP image embeddings [N, D] of images [N, 3, H, W] in [0, 1]."""
    out = []
    for start in range(0, images.shape[0], batch_size):
        batch = to_backbone_size(images[start : start + batch_size].float(), vd.info.image_size)
        pixels = vd.pixel_values(batch).to(vd.device)
        out.append(vd.image_encoder(pixel_values=pixels).image_embeds.float().cpu())
    return torch.cat(out)


def two_way_identification(recon_embeds: torch.Tensor, gt_embeds: torch.Tensor) -> torch.Tensor:
    """Per-reconstruction two-way identification scores [N] in [0, 1]."""
    n = recon_embeds.shape[0]
    if n < 2 or gt_embeds.shape[0] != n:
        raise ValueError(
            f"two-way identification: expected two equal sets of at least 2 rows, found {n} and {gt_embeds.shape[0]}"
        )

    def standardise(x: torch.Tensor) -> torch.Tensor:
        x = x.double() - x.double().mean(dim=1, keepdim=True)
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)

    corr = standardise(recon_embeds) @ standardise(gt_embeds).T  # [recon i, gt j]
    own = corr.diagonal().unsqueeze(1)
    beaten = (corr < own).sum(dim=1)  # the diagonal never counts (not < itself)
    return beaten.double() / (n - 1)

"""Images embedded in the generation backbone's CLIP image space, for two-way identification there.

The metric is the harness's (`eval.metrics.identification.two_way_identification(gt, recon,
standardised=False)`); this module only embeds images with the backbone's CLIP vision tower, so the ablation
table command and the learning test can score a subset of the test images without a full run (on SynthNSD the
harness's CLIP column uses the same MiniVD encoder).
"""

from __future__ import annotations

import torch

from eval.backbone.targets import to_backbone_size


@torch.no_grad()
def clip_embeddings(vd, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Projected CLIP image embeddings [N, D] of images [N, 3, H, W] in [0, 1]."""
    out = []
    for start in range(0, images.shape[0], batch_size):
        batch = to_backbone_size(images[start : start + batch_size].float(), vd.info.image_size)
        pixels = vd.pixel_values(batch).to(vd.device)
        out.append(vd.image_encoder(pixel_values=pixels).image_embeds.float().cpu())
    return torch.cat(out)

"""Progress figures of the UNet stage on held-out scenes: what the oracle benchmarks later measure in full."""

from __future__ import annotations

from pathlib import Path

import torch

from eval.backbone.sampling import Conditions, GenerationOptions, denoise
from eval.backbone.tokens import image_tokens, text_tokens
from eval.backbone.train.clip import pixel_values
from eval.backbone.train.common import pearson_per_image
from eval.backbone.train.unet import noise_scheduler
from eval.metrics.identification import two_way_identification


def two_way(features_gt: torch.Tensor, features_recon: torch.Tensor) -> float:
    """Two-way identification as the harness's metric defines it, mean over reconstructions."""
    return float(two_way_identification(features_gt, features_recon, standardised=False).mean())


def make_monitor(model: Path, tokenizer, scenes, vae, vision, text, uncond_image, uncond_text, n: int = 64):
    x = scenes.tensor(slice(0, n))
    with torch.no_grad():
        z0 = vae.encode(x).latent_dist.mode() * vae.config.scaling_factor
        img = image_tokens(vision, pixel_values(scenes, slice(0, n)))
        ids = tokenizer([c[0] for c in scenes.captions[:n]], padding="max_length", truncation=True, return_tensors="pt")
        txt = text_tokens(text, ids.input_ids)
        gt_embeds = vision(pixel_values=pixel_values(scenes, slice(0, n))).image_embeds
    config = dict(noise_scheduler().config)

    @torch.no_grad()
    def monitor(unet) -> dict[str, float]:
        unet.eval()
        figures = {}
        for name, start in (("img2img", z0), ("noise", None)):
            conditions = Conditions(uncond_image, uncond_text, image_tokens=img, text_tokens=txt, start_latents=start)
            options = GenerationOptions(steps=20, strength=0.75, guidance_scale=3.5, progress=False)
            latents = denoise(unet, config, conditions, tuple(z0.shape[1:]), options)
            recon = vae.decode(latents / vae.config.scaling_factor).sample.clamp(-1, 1)
            figures[f"{name}_pixcorr"] = float(pearson_per_image(x, recon).mean())
            u8 = ((recon + 1) * 127.5).round().clamp(0, 255)
            normed = (u8 / 255 - 0.5) / 0.25
            figures[f"{name}_twoway"] = two_way(gt_embeds, vision(pixel_values=normed).image_embeds)
        unet.train()
        return figures

    return monitor

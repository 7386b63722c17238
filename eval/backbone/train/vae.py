"""Stage vae: a tiny AutoencoderKL (64 px images -> 4 x 16 x 16 latents), in diffusers' own class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from eval.backbone.train.common import Curve, cosine_lr, pearson_per_image, seed_everything, set_lr
from eval.backbone.train.data import SceneSet


@dataclass(frozen=True)
class VaeRecipe:
    block_out_channels: tuple[int, ...] = (16, 32, 64)
    latent_channels: int = 4
    steps: int = 3000
    batch: int = 16
    lr: float = 2e-3
    kl_weight: float = 1e-6


def build_vae(recipe: VaeRecipe, image_size: int) -> AutoencoderKL:
    n = len(recipe.block_out_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=recipe.block_out_channels,
        layers_per_block=1,
        latent_channels=recipe.latent_channels,
        norm_num_groups=min(16, recipe.block_out_channels[0]),
        sample_size=image_size,
    )


def train_vae(
    train: SceneSet,
    held_out: SceneSet,
    recipe: VaeRecipe,
    out: Path,
    curves: Path,
    seed: int,
    init: Path | None = None,
) -> AutoencoderKL:
    """Train (from the autoencoder saved at `init`, when given), set the latent scaling factor (1 / std of the
    training latents), save to `out`."""
    generator = seed_everything(seed)
    vae = AutoencoderKL.from_pretrained(init) if init is not None else build_vae(recipe, train.images.shape[1])
    vae.train()
    optimiser = torch.optim.AdamW(vae.parameters(), lr=recipe.lr, weight_decay=0.0)
    curve = Curve(curves / "vae.jsonl", "vae")
    n = train.images.shape[0]
    for step in range(recipe.steps):
        set_lr(optimiser, cosine_lr(step, recipe.steps, recipe.lr))
        x = train.tensor(torch.randint(0, n, (recipe.batch,), generator=generator).numpy())
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample(generator=generator)).sample
        loss = torch.nn.functional.mse_loss(recon, x) + 0.5 * (recon - x).abs().mean()
        loss = loss + recipe.kl_weight * posterior.kl().mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % 200 == 0 or step == recipe.steps - 1:
            curve.add(step, loss=float(loss.detach()), pixcorr=round_trip_pixcorr(vae, held_out))
    vae.register_to_config(scaling_factor=latent_scale(vae, train))
    vae.save_pretrained(out, safe_serialization=True)
    return vae


@torch.no_grad()
def round_trip_pixcorr(vae: AutoencoderKL, scenes: SceneSet) -> float:
    vae.eval()
    x = scenes.tensor(slice(0, 256))
    recon = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    vae.train()
    return float(pearson_per_image(x, recon).mean())


@torch.no_grad()
def latent_scale(vae: AutoencoderKL, scenes: SceneSet) -> float:
    """1 / std of the latent means, so scaled latents have unit variance as the diffusion prior assumes."""
    vae.eval()
    latents = torch.cat(
        [
            vae.encode(scenes.tensor(slice(i, i + 256))).latent_dist.mode()
            for i in range(0, min(2048, len(scenes.images)), 256)
        ]
    )
    return float(1.0 / latents.std())

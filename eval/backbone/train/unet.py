"""Stage unet: VD's dual-guided UNet in miniature, trained as a latent diffusion model on the scenes.

The image UNet (`UNet2DConditionModel`) and the text UNet (`UNetFlatConditionModel`, of which VD's dual guidance
uses only the transformers) are built with matching blocks, joined by `convert_to_dual` and trained together:
each step picks a text weight (image only, text only or a random mix), drops each condition for an
unconditional one with probability `drop` (so classifier-free guidance works), and regresses the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, UNet2DConditionModel
from diffusers.pipelines.deprecated.versatile_diffusion.modeling_text_unet import UNetFlatConditionModel

from eval.backbone.compat import convert_to_dual, revert_dual, set_conditions
from eval.backbone.train.common import Curve, cosine_lr, seed_everything, set_lr

DOWN = ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D")
UP = ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D")
# The text UNet's blocks at the same places, so its transformers have the image UNet's module names.
DOWN_FLAT = ("DownBlockFlat", "CrossAttnDownBlockFlat", "CrossAttnDownBlockFlat")
UP_FLAT = ("CrossAttnUpBlockFlat", "CrossAttnUpBlockFlat", "UpBlockFlat")


@dataclass(frozen=True)
class UnetRecipe:
    block_out_channels: tuple[int, ...] = (32, 64, 64)
    heads: int = 4
    steps: int = 3000
    batch: int = 32
    lr: float = 1e-3
    drop: float = 0.1


def noise_scheduler() -> DDIMScheduler:
    """VD's (Stable Diffusion's) training noise schedule: scaled-linear betas 0.00085..0.012 over 1000 steps."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def build_unets(recipe: UnetRecipe, latent_channels: int, latent_size: int, token_dim: int):
    common = dict(
        sample_size=latent_size,
        in_channels=latent_channels,
        out_channels=latent_channels,
        block_out_channels=recipe.block_out_channels,
        layers_per_block=1,
        cross_attention_dim=token_dim,
        attention_head_dim=recipe.heads,
        norm_num_groups=16,
    )
    image_unet = UNet2DConditionModel(down_block_types=DOWN, up_block_types=UP, **common)
    text_unet = UNetFlatConditionModel(down_block_types=DOWN_FLAT, up_block_types=UP_FLAT, **common)
    return image_unet, text_unet


def _mix(generator: torch.Generator) -> float:
    u = float(torch.rand((), generator=generator))
    if u < 0.35:
        return 0.0  # image only
    if u < 0.6:
        return 1.0  # text only
    return float(torch.rand((), generator=generator))


def train_unet(
    latents: torch.Tensor,
    image_tokens: torch.Tensor,
    text_tokens_fn,
    uncond_image: torch.Tensor,
    uncond_text: torch.Tensor,
    recipe: UnetRecipe,
    out: Path,
    curves: Path,
    seed: int,
    monitor=None,
    resume: bool = False,
):
    """Train on precomputed scaled latents [n, C, h, w] and image tokens [n, L, D]; text tokens come from
    `text_tokens_fn(index, generator)` (a random caption of each image). Saves image_unet/ and text_unet/.

    With `resume`, training continues from the UNets already in `out` with a fresh schedule (a second phase,
    seeded apart from the first, its curve in unet-resumed.jsonl).
    """
    generator = seed_everything(seed + 1 if resume else seed)
    if resume:
        image_unet = UNet2DConditionModel.from_pretrained(out / "image_unet")
        text_unet = UNetFlatConditionModel.from_pretrained(out / "text_unet")
    else:
        image_unet, text_unet = build_unets(recipe, latents.shape[1], latents.shape[-1], image_tokens.shape[-1])
    image_unet.train()
    convert_to_dual(image_unet, text_unet)
    scheduler = noise_scheduler()
    optimiser = torch.optim.AdamW(image_unet.parameters(), lr=recipe.lr, weight_decay=0.0)
    curve = Curve(curves / ("unet-resumed.jsonl" if resume else "unet.jsonl"), "unet-resumed" if resume else "unet")
    n = latents.shape[0]
    text_len, image_len = uncond_text.shape[1], uncond_image.shape[1]
    running = 0.0
    for step in range(recipe.steps):
        set_lr(optimiser, cosine_lr(step, recipe.steps, recipe.lr))
        index = torch.randint(0, n, (recipe.batch,), generator=generator)
        text = text_tokens_fn(index, generator)
        image = image_tokens[index]
        drop_text = torch.rand(recipe.batch, generator=generator) < recipe.drop
        drop_image = torch.rand(recipe.batch, generator=generator) < recipe.drop
        text = torch.where(drop_text[:, None, None], uncond_text.expand_as(text), text)
        image = torch.where(drop_image[:, None, None], uncond_image.expand_as(image), image)
        set_conditions(image_unet, _mix(generator), text_len, image_len)
        z0 = latents[index]
        noise = torch.randn(z0.shape, generator=generator)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (recipe.batch,), generator=generator)
        pred = image_unet(
            scheduler.add_noise(z0, noise, t), t, encoder_hidden_states=torch.cat([text, image], 1)
        ).sample
        loss = F.mse_loss(pred, noise)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(image_unet.parameters(), 1.0)
        optimiser.step()
        running = 0.98 * running + 0.02 * float(loss.detach()) if step else float(loss.detach())
        if step % 100 == 0 or step == recipe.steps - 1:
            extra = monitor(image_unet) if monitor is not None and (step % 600 == 0 or step == recipe.steps - 1) else {}
            curve.add(step, loss=running, **extra)
        if step % 600 == 0 and step:
            torch.save({"step": step, "unet": image_unet.state_dict()}, curves / "unet-checkpoint.pt")
    revert_dual(image_unet, text_unet)
    image_unet.save_pretrained(out / "image_unet", safe_serialization=True)
    text_unet.save_pretrained(out / "text_unet", safe_serialization=True)
    scheduler.save_pretrained(out / "scheduler")
    return image_unet, text_unet

"""Stage clip: tiny CLIP text and vision towers (transformers' CLIP classes), trained contrastively on scenes.

The towers are saved as `CLIPTextModelWithProjection` and `CLIPVisionModelWithProjection`, the classes VD's
pipeline loads, with a `CLIPImageProcessor` config for the vision input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

from eval.backbone.train.common import Curve, cosine_lr, seed_everything, set_lr
from eval.backbone.train.data import SceneSet

# Inputs in [0, 1] are normalised with these (the scene set's own channel statistics, rounded).
IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class ClipRecipe:
    width: int = 128
    layers: int = 4
    heads: int = 4
    projection_dim: int = 64
    patch_size: int = 8
    steps: int = 700
    batch: int = 128
    lr: float = 1e-3


def build_clip(recipe: ClipRecipe, tokenizer: CLIPTokenizer, image_size: int):
    text = CLIPTextModelWithProjection(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=recipe.width,
            intermediate_size=4 * recipe.width,
            num_hidden_layers=recipe.layers,
            num_attention_heads=recipe.heads,
            max_position_embeddings=tokenizer.model_max_length,
            projection_dim=recipe.projection_dim,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    vision = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=recipe.width,
            intermediate_size=4 * recipe.width,
            num_hidden_layers=recipe.layers,
            num_attention_heads=recipe.heads,
            image_size=image_size,
            patch_size=recipe.patch_size,
            projection_dim=recipe.projection_dim,
        )
    )
    return text, vision


def image_processor(image_size: int) -> CLIPImageProcessor:
    return CLIPImageProcessor(
        do_resize=True,
        size={"shortest_edge": image_size},
        do_center_crop=True,
        crop_size={"height": image_size, "width": image_size},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(IMAGE_MEAN),
        image_std=list(IMAGE_STD),
        do_convert_rgb=True,
    )


def pixel_values(scenes: SceneSet, index) -> torch.Tensor:
    """Scene images normalised for the vision tower, without PIL (they are already at its size)."""
    x = torch.from_numpy(scenes.images[index]).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def train_clip(
    train: SceneSet,
    held_out: SceneSet,
    tokenizer: CLIPTokenizer,
    recipe: ClipRecipe,
    out: Path,
    curves: Path,
    seed: int,
):
    generator = seed_everything(seed)
    text, vision = build_clip(recipe, tokenizer, train.images.shape[1])
    logit_scale = torch.nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    params = [*text.parameters(), *vision.parameters(), logit_scale]
    optimiser = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.1)
    curve = Curve(curves / "clip.jsonl", "clip")
    n = train.images.shape[0]
    for step in range(recipe.steps):
        set_lr(optimiser, cosine_lr(step, recipe.steps, recipe.lr))
        index = torch.randint(0, n, (recipe.batch,), generator=generator).numpy()
        which = torch.randint(0, 5, (recipe.batch,), generator=generator).tolist()
        captions = [train.captions[i][k] for i, k in zip(index, which)]
        ids = tokenizer(captions, padding="max_length", truncation=True, return_tensors="pt").input_ids
        t = F.normalize(text(input_ids=ids).text_embeds, dim=-1)
        v = F.normalize(vision(pixel_values=pixel_values(train, index)).image_embeds, dim=-1)
        logits = logit_scale.clamp(max=np.log(100)).exp() * v @ t.T
        target = torch.arange(len(index))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            curve.add(step, loss=float(loss.detach()), **retrieval(text, vision, tokenizer, held_out))
    text.save_pretrained(out / "text_encoder", safe_serialization=True)
    vision.save_pretrained(out / "image_encoder", safe_serialization=True)
    return text, vision


@torch.no_grad()
def retrieval(text, vision, tokenizer, scenes: SceneSet, n: int = 500) -> dict[str, float]:
    """Image-to-text top-1 and top-5 among `n` held-out scenes (first caption of each)."""
    text.eval()
    vision.eval()
    ids = tokenizer([c[0] for c in scenes.captions[:n]], padding="max_length", truncation=True, return_tensors="pt")
    t = F.normalize(text(input_ids=ids.input_ids).text_embeds, dim=-1)
    v = F.normalize(vision(pixel_values=pixel_values(scenes, slice(0, n))).image_embeds, dim=-1)
    rank = (v @ t.T).argsort(dim=1, descending=True)
    hits = rank == torch.arange(n)[:, None]
    text.train()
    vision.train()
    return {"top1": float(hits[:, :1].any(1).float().mean()), "top5": float(hits[:, :5].any(1).float().mean())}

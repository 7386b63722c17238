"""A tiny, randomly initialised model in VD's folder layout, built by the same code as MiniVD (for tests)."""

from __future__ import annotations

from pathlib import Path

import torch

from eval.backbone.train.assemble import assemble
from eval.backbone.train.clip import ClipRecipe, build_clip, image_processor
from eval.backbone.train.data import all_captions, make_scenes
from eval.backbone.train.tokenizer import train_tokenizer
from eval.backbone.train.unet import UnetRecipe, build_unets, noise_scheduler
from eval.backbone.train.vae import VaeRecipe, build_vae

TINY_VAE = VaeRecipe(block_out_channels=(8, 16), latent_channels=4)
TINY_CLIP = ClipRecipe(width=32, layers=1, heads=2, projection_dim=16, patch_size=8)
TINY_UNET = UnetRecipe(block_out_channels=(16, 32, 32), heads=2)


def write_random_model(folder: Path, seed: int = 0, image_size: int = 32, text_length: int = 16) -> Path:
    """Write a random VD-layout model (images `image_size` px) at `folder`; return the folder."""
    torch.manual_seed(seed)
    work = folder.parent / f".{folder.name}-parts"
    model = work / "model"
    scenes = make_scenes(seed, 0, 40, image_size)
    tokenizer = train_tokenizer(all_captions(scenes), model / "tokenizer", vocab_size=600, max_length=text_length)
    image_processor(image_size).save_pretrained(model / "image_feature_extractor")
    vae = build_vae(TINY_VAE, image_size)
    vae.register_to_config(scaling_factor=0.5)
    vae.save_pretrained(model / "vae")
    text, vision = build_clip(TINY_CLIP, tokenizer, image_size)
    text.save_pretrained(model / "text_encoder")
    vision.save_pretrained(model / "image_encoder")
    latent_side = image_size // 2 ** (len(TINY_VAE.block_out_channels) - 1)
    image_unet, text_unet = build_unets(TINY_UNET, TINY_VAE.latent_channels, latent_side, TINY_CLIP.projection_dim)
    image_unet.save_pretrained(model / "image_unet")
    text_unet.save_pretrained(model / "text_unet")
    noise_scheduler().save_pretrained(model / "scheduler")
    (work / "curves").mkdir(exist_ok=True)
    assemble(model, folder, seconds=0.0)
    return folder

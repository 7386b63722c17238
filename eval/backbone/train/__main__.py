"""python -m eval.backbone.train: train MiniVD and write it in Versatile Diffusion's diffusers folder layout.

Each stage saves into WORK/model/ and records its curve in WORK/curves/; --stage resumes from any stage.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from transformers import CLIPTextModelWithProjection, CLIPTokenizer, CLIPVisionModelWithProjection

from eval.backbone.tokens import image_tokens, text_tokens
from eval.backbone.train.clip import ClipRecipe, image_processor, pixel_values, train_clip
from eval.backbone.train.common import log
from eval.backbone.train.data import all_captions, make_scenes
from eval.backbone.train.tokenizer import train_tokenizer
from eval.backbone.train.unet import UnetRecipe, train_unet
from eval.backbone.train.vae import VaeRecipe, train_vae
from eval.errors import ConfigError, run_cli

STAGES = ("tokenizer", "vae", "clip", "unet", "assemble")
IMAGE_SIZE = 64
TEXT_LENGTH = 48
VOCAB_SIZE = 1000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval.backbone.train", description=__doc__)
    parser.add_argument("--work", type=Path, required=True, help="folder for the model being built and its curves")
    parser.add_argument("--out", type=Path, help="where `assemble` writes the finished model (default: WORK/final)")
    parser.add_argument("--stage", choices=STAGES, default="tokenizer", help="first stage to run (default: all)")
    parser.add_argument("--last-stage", choices=STAGES, default="assemble")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=16000, help="training scenes")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--vae-steps", type=int, default=VaeRecipe.steps)
    parser.add_argument(
        "--vae-init", type=Path, help="start the autoencoder from this saved one (a model's vae/ folder), not afresh"
    )
    parser.add_argument("--clip-steps", type=int, default=ClipRecipe.steps)
    parser.add_argument("--unet-steps", type=int, default=UnetRecipe.steps)
    parser.add_argument("--unet-lr", type=float, default=UnetRecipe.lr)
    parser.add_argument(
        "--unet-resume", action="store_true", help="continue training the UNet in WORK/model with a fresh schedule"
    )
    parser.add_argument(
        "--unet-init",
        type=Path,
        help="start the UNet from this model folder's image_unet/ and text_unet/ (copied into WORK/model) and "
        "train it with a fresh schedule, as --unet-resume does",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return run_cli(lambda: run(args))


def run(args: argparse.Namespace) -> None:
    from eval.backbone.train.assemble import assemble

    _check_saved("--vae-init", args.vae_init, "a saved autoencoder folder", ("",))
    _check_saved("--unet-init", args.unet_init, "a model folder", ("image_unet/", "text_unet/"))
    if args.threads:
        torch.set_num_threads(args.threads)
    model = args.work / "model"
    stages = STAGES[STAGES.index(args.stage) : STAGES.index(args.last_stage) + 1]
    start = time.perf_counter()
    train = make_scenes(args.seed, 0, args.n_train, IMAGE_SIZE)
    held_out = make_scenes(args.seed, args.n_train, 512, IMAGE_SIZE)
    log.info("scenes ready: %d training, %d held out", args.n_train, 512)
    if "tokenizer" in stages:
        train_tokenizer(all_captions(train), model / "tokenizer", VOCAB_SIZE, TEXT_LENGTH)
        image_processor(IMAGE_SIZE).save_pretrained(model / "image_feature_extractor")
    tokenizer = CLIPTokenizer.from_pretrained(model / "tokenizer")
    if "vae" in stages:
        recipe = VaeRecipe(steps=args.vae_steps)
        train_vae(train, held_out, recipe, model / "vae", args.work / "curves", args.seed, init=args.vae_init)
    if "clip" in stages:
        train_clip(
            train, held_out, tokenizer, ClipRecipe(steps=args.clip_steps), model, args.work / "curves", args.seed
        )
    if "unet" in stages:
        _train_unet(args, model, tokenizer, train, held_out)
    if "assemble" in stages:
        assemble(model, args.out or args.work / "final", seconds=time.perf_counter() - start)


def _check_saved(flag: str, folder: Path | None, what: str, parts: tuple[str, ...]) -> None:
    """Refuse a starting model (`flag`'s folder, when given) without each part's config.json, before any work."""
    if folder is None:
        return
    for part in parts:
        if not (folder / part / "config.json").is_file():
            raise ConfigError(f"{flag} {folder}: expected {what} with {part}config.json, found none")


@torch.no_grad()
def _encode(model: Path, tokenizer, scenes):
    vae = AutoencoderKL.from_pretrained(model / "vae").eval()
    vision = CLIPVisionModelWithProjection.from_pretrained(model / "image_encoder").eval()
    text = CLIPTextModelWithProjection.from_pretrained(model / "text_encoder").eval()
    n = scenes.images.shape[0]
    scale = vae.config.scaling_factor
    latents = torch.cat(
        [vae.encode(scenes.tensor(slice(i, i + 256))).latent_dist.mode() * scale for i in range(0, n, 256)]
    )
    image = torch.cat([image_tokens(vision, pixel_values(scenes, slice(i, i + 256))) for i in range(0, n, 256)])
    grey = torch.full((1, 3, IMAGE_SIZE, IMAGE_SIZE), 0.5)
    grey = (grey - torch.tensor(0.5)) / torch.tensor(0.25)  # pixel_values' normalisation of a mid-grey image
    uncond_image = image_tokens(vision, grey)
    uncond_text = text_tokens(text, tokenizer([""], padding="max_length", return_tensors="pt").input_ids)
    return vae, vision, text, latents, image, uncond_image, uncond_text


def _train_unet(args, model: Path, tokenizer, train, held_out) -> None:
    from eval.backbone.train.monitor import make_monitor

    if args.unet_init is not None:
        for part in ("image_unet", "text_unet"):
            shutil.copytree(args.unet_init / part, model / part, dirs_exist_ok=True)

    vae, vision, text, latents, image, uncond_image, uncond_text = _encode(model, tokenizer, train)
    log.info(
        "encoded %d training scenes: latents %s, image tokens %s", len(latents), list(latents.shape), list(image.shape)
    )
    all_ids = [
        tokenizer(five, padding="max_length", truncation=True, return_tensors="pt").input_ids for five in train.captions
    ]
    ids = torch.stack(all_ids)  # [n, 5, length]

    @torch.no_grad()
    def text_tokens_fn(index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        which = torch.randint(0, ids.shape[1], (len(index),), generator=generator)
        return text_tokens(text, ids[index, which])

    monitor = make_monitor(model, tokenizer, held_out, vae, vision, text, uncond_image, uncond_text)
    train_unet(
        latents,
        image,
        text_tokens_fn,
        uncond_image,
        uncond_text,
        UnetRecipe(steps=args.unet_steps, lr=args.unet_lr),
        model,
        args.work / "curves",
        args.seed,
        monitor,
        resume=args.unet_resume or args.unet_init is not None,
    )


if __name__ == "__main__":
    raise SystemExit(main())

"""A Versatile Diffusion model loaded offline: AutoKL encode/decode, VD-style CLIP tokens, dual-guided generation.

`VersatileBackbone.load("minivd")` gives the shipped MiniVD; `load("shi-labs/versatile-diffusion")` or a folder
gives the real VD, from the same code. Components are read one by one with diffusers' and transformers' own
classes (`local_files_only`), the image UNet is converted to dual attention (`compat`), and weight files are
checked against the folder's SHA256SUMS when it has one (weights, configs and tokenizer files).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F

from eval.backbone.compat import convert_to_dual
from eval.backbone.locate import locate_model, verify_manifest
from eval.backbone.sampling import Conditions, GenerationOptions, check_shape, denoise
from eval.backbone.tokens import image_tokens, text_tokens
from eval.errors import DataError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackboneInfo:
    """What a result records about the backbone that made its images."""

    name: str
    folder: str
    verified_files: int  # files checked against SHA256SUMS (0: the folder has no manifest)
    image_size: int
    latent_shape: tuple[int, int, int]
    image_token_shape: tuple[int, int]
    text_token_shape: tuple[int, int]


class VersatileBackbone:
    """The components of one VD folder, ready for encoding, conditioning and generation."""

    def __init__(self, folder: Path, name: str, device: str = "cpu", verify: bool = True):
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from diffusers.pipelines.deprecated.versatile_diffusion.modeling_text_unet import UNetFlatConditionModel
        from transformers import (
            CLIPImageProcessor,
            CLIPTextModelWithProjection,
            CLIPTokenizer,
            CLIPVisionModelWithProjection,
        )

        checked = verify_manifest(folder) if verify else None
        self.device = torch.device(device)
        load = {"local_files_only": True}
        try:
            self.tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer", **load)
            self.processor = CLIPImageProcessor.from_pretrained(folder / "image_feature_extractor", **load)
            self.text_encoder = CLIPTextModelWithProjection.from_pretrained(folder / "text_encoder", **load)
            self.image_encoder = CLIPVisionModelWithProjection.from_pretrained(folder / "image_encoder", **load)
            self.vae = AutoencoderKL.from_pretrained(folder / "vae", **load)
            self.unet = UNet2DConditionModel.from_pretrained(folder / "image_unet", **load)
            text_unet = UNetFlatConditionModel.from_pretrained(folder / "text_unet", **load)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"Versatile Diffusion folder {folder}: cannot load a component: {exc}".splitlines()[0]
            ) from exc
        convert_to_dual(self.unet, text_unet)
        del text_unet  # only its transformers are used, and they now live in the image UNet
        self.scheduler_config = _scheduler_config(folder)
        for module in (self.text_encoder, self.image_encoder, self.vae, self.unet):
            module.to(self.device).eval().requires_grad_(False)
        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        side = int(self.unet.config.sample_size)
        self.info = BackboneInfo(
            name=name,
            folder=str(folder),
            verified_files=len(checked or {}),
            image_size=side * factor,
            latent_shape=(int(self.vae.config.latent_channels), side, side),
            image_token_shape=(self._image_token_count(), int(self.image_encoder.config.projection_dim)),
            text_token_shape=(int(self.tokenizer.model_max_length), int(self.text_encoder.config.projection_dim)),
        )

    @classmethod
    def load(cls, name: str | os.PathLike[str] | None = None, device: str = "cpu", verify: bool = True):
        """Load a model by name (`minivd`, a hub id in the local HF cache, or a folder)."""
        folder = locate_model(name)
        return cls(folder, name=str(name or "minivd"), device=device, verify=verify)

    # --- AutoKL -------------------------------------------------------------------------------------------
    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Scaled latents (posterior mean x scaling factor) of images [N, 3, S, S] in [0, 1] at the model's size."""
        _check_images(images, self.info.image_size)
        out = []
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(self.device) * 2 - 1
            out.append(self.vae.encode(x).latent_dist.mode() * self.scaling_factor)
        return torch.cat(out).cpu()

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Images float32 [N, 3, S, S] in [0, 1] from scaled latents."""
        check_shape("latents", latents, self.info.latent_shape)
        out = []
        for start in range(0, latents.shape[0], batch_size):
            z = latents[start : start + batch_size].to(self.device, torch.float32) / self.scaling_factor
            out.append(self.vae.decode(z).sample.add(1).div(2).clamp(0, 1).float().cpu())
        return torch.cat(out)

    # --- CLIP tokens --------------------------------------------------------------------------------------
    def _image_token_count(self) -> int:
        config = self.image_encoder.config
        return (config.image_size // config.patch_size) ** 2 + 1

    def pixel_values(self, images: torch.Tensor) -> torch.Tensor:
        """The vision tower's input: bicubic resize to its size, then its processor's mean and std (on the images'
        device)."""
        size = int(self.image_encoder.config.image_size)
        x = images.float()
        if tuple(x.shape[-2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        mean = torch.tensor(self.processor.image_mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.processor.image_std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.no_grad()
    def image_tokens(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """VD image tokens [N, L, D] of images [N, 3, H, W] in [0, 1]."""
        _check_images(images, None)
        out = []
        for start in range(0, images.shape[0], batch_size):
            pixels = self.pixel_values(images[start : start + batch_size]).to(self.device)
            out.append(image_tokens(self.image_encoder, pixels).cpu())
        return torch.cat(out)

    @torch.no_grad()
    def text_tokens(self, captions: list[str], batch_size: int = 256) -> torch.Tensor:
        """VD text tokens [N, L, D] of one caption per image."""
        if not isinstance(captions, list | tuple) or not all(isinstance(c, str) for c in captions):
            raise InputError(f"captions: expected a list of strings, found {type(captions).__name__}")
        out = []
        for start in range(0, len(captions), batch_size):
            ids = self.tokenizer(
                list(captions[start : start + batch_size]), padding="max_length", truncation=True, return_tensors="pt"
            ).input_ids
            out.append(text_tokens(self.text_encoder, ids.to(self.device)).cpu())
        return torch.cat(out)

    def caption_tokens(self, captions: list[list[str]]) -> torch.Tensor:
        """Mean VD text tokens of each image's captions (Brain-Diffuser's caption target): [N, L, D]."""
        counts = [len(five) for five in captions]
        flat = self.text_tokens([c for five in captions for c in five])
        return torch.stack([part.mean(0) for part in flat.split(counts)])

    @cached_property
    def uncond_image_tokens(self) -> torch.Tensor:
        """Tokens of a mid-grey image, VD's unconditional image input: [1, L, D]."""
        return self.image_tokens(torch.full((1, 3, self.info.image_size, self.info.image_size), 0.5))

    @cached_property
    def uncond_text_tokens(self) -> torch.Tensor:
        """Tokens of the empty prompt, VD's unconditional text input: [1, L, D]."""
        return self.text_tokens([""])

    # --- generation ---------------------------------------------------------------------------------------
    def generate(
        self,
        *,
        latents: torch.Tensor | None = None,
        image_tokens: torch.Tensor | None = None,
        text_tokens: torch.Tensor | None = None,
        options: GenerationOptions | None = None,
        decode: bool = True,
    ) -> torch.Tensor:
        """Images [N, 3, S, S] in [0, 1]: img2img from `latents` at `options.strength`, or from noise when None.

        Each of the three inputs may be left out (None); at least one must be given. With `decode=False` the
        denoised scaled latents are returned instead of images.
        """
        options = options or GenerationOptions()
        check_shape("latents", latents, self.info.latent_shape)
        check_shape("image_tokens", image_tokens, self.info.image_token_shape)
        check_shape("text_tokens", text_tokens, self.info.text_token_shape)
        if latents is None and image_tokens is None and text_tokens is None:
            raise InputError("generate: expected at least one of latents, image_tokens, text_tokens, found none")
        conditions = Conditions(
            uncond_image=self.uncond_image_tokens,
            uncond_text=self.uncond_text_tokens,
            image_tokens=image_tokens,
            text_tokens=text_tokens,
            start_latents=latents,
        )
        out = denoise(self.unet, self.scheduler_config, conditions, self.info.latent_shape, options, self.device)
        return self.decode(out) if decode else out.cpu()


def _scheduler_config(folder: Path) -> dict:
    from diffusers import DDIMScheduler

    return dict(DDIMScheduler.load_config(folder / "scheduler", local_files_only=True))


def _check_images(images: torch.Tensor, size: int | None) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        found = list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise InputError(f"images: expected a float tensor [N, 3, H, W] in [0, 1], found {found}")
    if size is not None and tuple(images.shape[-2:]) != (size, size):
        raise InputError(
            f"images: expected {size} x {size} px (the autoencoder's size), found {list(images.shape[-2:])}"
        )

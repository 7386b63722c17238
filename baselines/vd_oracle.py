"""Oracle decoders of the generation backbone: what Versatile Diffusion can reach when fed the true inputs.

They read the ground-truth test images (as `ground_truth` does), so they are references, not decoders of fMRI:
the upper bounds a diffusion decoder built on the backbone (HAVIR) is read against.

- vd_autokl: the AutoKL round trip of each test image (what the latent space keeps).
- vd_img2img_oracle: img2img from the true latent at strength 0.75, guided by the true image and text tokens.
- vd_tokens_oracle: generation from noise guided by the true image and text tokens (what the tokens alone carry).
- vd_text_oracle: generation from noise guided by the true text tokens alone (what the captions carry: a
  decoder that got the meaning right and nothing of the look).

Text tokens are the mean of the five captions' tokens (Brain-Diffuser's choice for its caption target).
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from eval.backbone.sampling import GenerationOptions
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import HarnessError
from eval.metrics.preprocess import resize

# Brain-Diffuser's settings (strength 0.75, guidance 7.5, text weight 0.4, DDIM, eta 0) at 20 steps.
ORACLE_OPTIONS = GenerationOptions(steps=20, strength=0.75, guidance_scale=7.5, mix_ratio=0.4, scheduler="ddim")


def backbone_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images resized to the backbone's square size (bicubic with antialias, as a PIL resize would)."""
    return resize(images, size, "bicubic", antialias=True)


class VdOracle:
    """One of the three oracles; `mode` says which inputs reach the backbone."""

    def __init__(self, context: BuildContext, variant: Variant, spec: DecoderSpec, mode: str) -> None:
        from eval.backbone.model import VersatileBackbone

        self.mode = mode
        self.backbone = VersatileBackbone.load(variant.backbone, device=context.device)
        # The text oracle gives the text condition all the weight: there is no image condition to mix with.
        mix_ratio = 1.0 if mode == "text" else ORACLE_OPTIONS.mix_ratio
        self.options = GenerationOptions(**{**asdict(ORACLE_OPTIONS), "seed": context.seed, "mix_ratio": mix_ratio})
        flags = {"backbone": self.backbone.info.name, "uses_ground_truth": True}
        if mode != "autokl":
            flags.update({k: v for k, v in asdict(self.options).items() if k not in ("progress", "batch_size")})
        self.meta = DecoderMeta(spec.name, spec.kind, spec.description, flags=flags)
        self._stimuli: Stimuli | None = None

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._stimuli = stimuli

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        if self._stimuli is None:
            raise HarnessError(f"decoder '{self.meta.name}': reconstruct() called before fit()")
        if self.mode == "text":  # the captions alone, from noise: the images are never read
            text_tokens = self.backbone.caption_tokens(self._stimuli.captions(inputs.nsd_ids))
            return self.backbone.generate(latents=None, text_tokens=text_tokens, options=self.options)
        images = backbone_images(self._stimuli.images_tensor(inputs.nsd_ids), self.backbone.info.image_size)
        if self.mode == "autokl":
            return self.backbone.decode(self.backbone.encode(images))
        tokens = {
            "image_tokens": self.backbone.image_tokens(images),
            "text_tokens": self.backbone.caption_tokens(self._stimuli.captions(inputs.nsd_ids)),
        }
        start = self.backbone.encode(images) if self.mode == "img2img" else None  # from noise otherwise
        return self.backbone.generate(latents=start, options=self.options, **tokens)


def _spec(name: str, mode: str, description: str) -> DecoderSpec:
    def build(context: BuildContext, variant: Variant | None = None) -> VdOracle:
        return VdOracle(context, variant or Variant(), spec, mode)

    spec = DecoderSpec(name=name, kind="reference", description=description, build=build, uses_backbone=True)
    return spec


VD_AUTOKL = _spec("vd_autokl", "autokl", "backbone oracle: AutoKL round trip of the test images")
VD_IMG2IMG_ORACLE = _spec(
    "vd_img2img_oracle",
    "img2img",
    "backbone oracle: img2img from the true latent (strength 0.75) with the true image and caption tokens",
)
VD_TOKENS_ORACLE = _spec(
    "vd_tokens_oracle", "tokens", "backbone oracle: generation from noise with the true image and caption tokens"
)
VD_TEXT_ORACLE = _spec(
    "vd_text_oracle", "text", "backbone oracle: generation from noise with the true caption tokens alone"
)

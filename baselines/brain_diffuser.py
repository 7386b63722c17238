"""Brain-Diffuser (Ozcelik & VanRullen 2023) behind the decoder interface, on the harness's generation backbone.

Ridge from every nsdgeneral voxel (the recipe's domain) to (a) the AutoKL latent of the stimulus, whose decoding is
the initial image, (b) the CLIP image tokens and (c) the CLIP text tokens (mean over the captions), one ridge per
token as in the original; test predictions rescaled to the training targets' statistics; then img2img from the
initial image at strength 0.75 with text weight 0.4, guidance 7.5, DDIM. Where it differs from the original (the
first stage is the AutoKL, not VDVAE; penalties by cross-validation unless `alphas=original`; 20 steps by default):
README, section "Brain-Diffuser".
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.backbone_ridge import Plan, ridge_spec
from eval.options import option

PLAN = Plan(
    name="brain_diffuser",
    reads={"latents": None, "image_tokens": None, "text_tokens": None},
    # scripts/vdvae_regression.py, clipvision_regression.py, cliptext_regression.py: sklearn Ridge, fixed alphas.
    original_alphas={"latents": (50_000.0,), "image_tokens": (60_000.0,), "text_tokens": (100_000.0,)},
)


@dataclass(frozen=True)
class BrainDiffuserOptions:
    alphas: str = option(
        "cv", choices=("cv", "original"),
        help="ridge penalties: cv (chosen by cross-validation on the training split) or original (50,000 / 60,000 / "
        "100,000 for latent / image / text tokens)",
    )
    alpha_per: str = option(
        "token", choices=("token", "target"),
        help="outputs sharing a penalty: token (one per token, one for the latent) or target (each output)",
    )
    cv_folds: int = option(5, low=2, help="folds of the penalty cross-validation")
    rescale: bool = option(True, help="rescale test predictions to the training targets' mean and std (original)")
    strength: float = option(0.75, low=0, high=1, low_open=True, help="img2img strength from the initial image")
    mix_ratio: float = option(0.4, low=0, high=1, help="weight of the text tokens against the image tokens")
    guidance: float = option(7.5, low=1, help="classifier-free guidance scale")
    steps: int = option(20, low=1, help="DDIM steps (the original: 50)")


BRAIN_DIFFUSER = ridge_spec(
    PLAN,
    BrainDiffuserOptions,
    "Brain-Diffuser (Ozcelik & VanRullen 2023): ridge from nsdgeneral to the AutoKL latent and the "
    "CLIP image and text tokens, then Versatile Diffusion img2img",
)

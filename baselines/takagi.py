"""Takagi & Nishimoto (2023) behind the decoder interface, on the harness's generation backbone.

Ridge from early visual voxels (the recipe's `structural` group) to the AutoKL latent z, and from higher visual
voxels (the `semantic` group) to the text condition c (the captions' mean text tokens); then img2img from the
decoded z, guided by c alone (image-token weight 0). The original uses Stable Diffusion v1.4 (z: its VAE latent,
c: its CLIP text conditioning), himalaya's RidgeCV (per-target penalties) and strength 0.8, guidance 5.0, DDIM 50
steps. Every difference: README, section "Takagi & Nishimoto".
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.backbone_ridge import Plan, ridge_spec
from eval.options import option

# codes/utils/ridge.py: RidgeCV(alphas=[1e-6, ..., 1]) on z-scored single trials, for both targets.
TAKAGI_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
PLAN = Plan(
    name="takagi",
    reads={"latents": "structural", "text_tokens": "semantic"},
    original_alphas={"latents": TAKAGI_GRID, "text_tokens": TAKAGI_GRID},
)


@dataclass(frozen=True)
class TakagiOptions:
    alphas: str = option(
        "cv", choices=("cv", "original"),
        help="ridge penalties by cross-validation over: cv (a grid scaled to the data) or original (1e-6 to 1)",
    )
    alpha_per: str = option(
        "target", choices=("token", "target"),
        help="outputs sharing a penalty: target (each output, as the original) or token (one per token)",
    )
    cv_folds: int = option(5, low=2, help="folds of the penalty cross-validation")
    rescale: bool = option(False, help="rescale test predictions to the training targets' mean and std")
    strength: float = option(0.8, low=0, high=1, low_open=True, help="img2img strength from the decoded z")
    guidance: float = option(5.0, low=1, help="classifier-free guidance scale")
    steps: int = option(20, low=1, help="DDIM steps (the original: 50)")


TAKAGI = ridge_spec(
    PLAN,
    TakagiOptions,
    "Takagi & Nishimoto (2023): ridge from early visual voxels to the AutoKL latent and from higher "
    "visual voxels to the text tokens, then img2img guided by text alone",
)

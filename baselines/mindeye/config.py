"""MindEye's frozen configuration, its size presets and the decoder's declared options.

The `synth` preset trains in about a minute on one CPU thread on the default SynthNSD (1,000 training images,
MiniVD); the `paper` preset records MindEye1's sizes and schedule (Scotti et al. 2023, subject 1 on NSD with
Versatile Diffusion's 257 x 768 image tokens). It is documented here and selectable, not run on this project's
machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eval.backbone.sampling import SCHEDULERS
from eval.errors import ConfigError
from eval.options import option
from eval.presets import preset_option, resolve

# Fields that change what is trained (a checkpoint must match all of them).
TRAINING_FIELDS = (
    "hidden",
    "blocks",
    "projector",
    "dropout_in",
    "dropout",
    "prior_layers",
    "prior_heads",
    "prior_head_dim",
    "prior_timesteps",
    "prior_weight",
    "low_channels",
    "low_upsample",
    "low_weight",
    "lr",
    "weight_decay",
    "epochs",
    "batch_size",
    "mixco_share",
    "mixco_temp",
    "softclip_temps",
    "group",
    "backbone",
)


@dataclass(frozen=True)
class MindEyeConfig:
    """Everything that decides a MindEye model and how it reconstructs.

    Attributes:
        preset: The size preset the values came from ("synth" or "paper").
        hidden: Width of the residual MLPs (high-level backbone and low-level branch).
        blocks: Residual blocks of each MLP.
        projector: Width of the contrastive projector's hidden layers (applied per token).
        dropout_in: Dropout after the first layer (MindEye: 0.5).
        dropout: Dropout inside the residual blocks (MindEye: 0.15).
        prior_layers: Transformer layers of the diffusion prior.
        prior_heads: Attention heads of the prior.
        prior_head_dim: Width of each head (the prior's inner width is heads x head_dim).
        prior_timesteps: Diffusion timesteps the prior is trained with (MindEye: 100, cosine schedule).
        prior_steps: DDIM steps when sampling the prior.
        prior_weight: Weight of the prior's MSE loss against the contrastive loss (MindEye's prior_mult: 30).
        low_channels: Channels of the low-level branch's feature map before upsampling.
        low_upsample: Factor from that map to the latent's side.
        low_weight: Weight of the low-level branch's L1 latent loss.
        lr: AdamW peak learning rate (one-cycle schedule).
        weight_decay: AdamW weight decay.
        epochs: Passes over the training split.
        batch_size: Training batch.
        mixco_share: Share of the epochs trained with BiMixCo; SoftCLIP for the rest.
        mixco_temp: BiMixCo temperature.
        softclip_temps: SoftCLIP temperature, cosine-annealed from the first to the second value.
        group: Voxel group read by every branch (MindEye: all of nsdgeneral).
        best_of: Samples generated per image; the one closest to the brain-predicted embedding is kept.
        strength: img2img strength from the low-level latent (MindEye: 0.85).
        guidance: Classifier-free guidance scale.
        steps: Scheduler steps of the generation.
        scheduler: The generation's scheduler (MindEye: UniPC).
        backbone: Generation backbone: "minivd", a VD folder, or a hub id in the local cache.
        mixed_precision: "no", "bf16" or "fp16" forward passes on CUDA; ignored on other devices.
    """

    preset: str = "synth"
    hidden: int = 256
    blocks: int = 1
    projector: int = 128
    dropout_in: float = 0.3
    dropout: float = 0.15
    prior_layers: int = 2
    prior_heads: int = 2
    prior_head_dim: int = 16
    prior_timesteps: int = 100
    prior_steps: int = 20
    prior_weight: float = 30.0
    low_channels: int = 32
    low_upsample: int = 2
    low_weight: float = 1.0
    lr: float = 1e-3
    weight_decay: float = 1e-2
    epochs: int = 30
    batch_size: int = 64
    mixco_share: float = 0.33
    mixco_temp: float = 0.006
    softclip_temps: tuple[float, float] = (0.004, 0.0075)
    group: str = "nsdgeneral"
    best_of: int = 2
    strength: float = 0.85
    guidance: float = 3.5
    steps: int = 10
    scheduler: str = "unipc"
    backbone: str = "minivd"
    mixed_precision: str = "no"

    def __post_init__(self) -> None:
        positive = ("hidden", "blocks", "projector", "prior_layers", "prior_heads", "prior_head_dim",
                    "prior_timesteps", "prior_steps", "low_channels", "low_upsample", "epochs", "batch_size",
                    "best_of", "steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"mindeye option {name}: expected a positive integer, found {getattr(self, name)}")
        for name in ("dropout_in", "dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"mindeye option {name}: expected a value in [0, 1), found {getattr(self, name)}")
        if not 0.0 <= self.mixco_share <= 1.0:
            raise ConfigError(f"mindeye option mixco_share: expected a value in [0, 1], found {self.mixco_share}")
        if not 0.0 < self.strength <= 1.0:
            raise ConfigError(f"mindeye option strength: expected a value in (0, 1], found {self.strength}")
        if self.guidance < 1.0:
            raise ConfigError(f"mindeye option guidance: expected at least 1, found {self.guidance}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"mindeye option scheduler: expected one of {', '.join(SCHEDULERS)}, "
                              f"found {self.scheduler!r}")
        if min(self.lr, self.mixco_temp, *self.softclip_temps) <= 0:
            raise ConfigError("mindeye lr and temperatures: expected positive values, "
                              f"found {self.lr}, {self.mixco_temp}, {self.softclip_temps}")
        if self.prior_weight < 0 or self.low_weight < 0:
            raise ConfigError(f"mindeye loss weights: expected values >= 0, found {self.prior_weight}, "
                              f"{self.low_weight}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ConfigError(f"mindeye mixed_precision: expected no, bf16 or fp16, found {self.mixed_precision!r}")

    def mixco_epochs(self) -> int:
        """Epochs trained with BiMixCo (MindEye: int(mixup_pct * num_epochs))."""
        return int(self.mixco_share * self.epochs)

    def training_key(self) -> dict[str, Any]:
        """The fields that change the trained weights (what a checkpoint must match)."""
        return {name: getattr(self, name) for name in TRAINING_FIELDS}


PRESETS: dict[str, dict[str, Any]] = {
    # SynthNSD (1,000 training images, a few thousand voxels, MiniVD's 65 x 64 image tokens): about a minute of
    # training on one CPU thread; 10 generation steps and 2 samples per image keep the default run near HAVIR's.
    "synth": {},
    # MindEye1 as published (Train_MindEye.py, hidden-state VD variant): residual MLP 4096 x 4 blocks, projector
    # 2048, prior depth 6 with 12 heads of 64 (inner width 768) and 100 timesteps, 240 epochs of batch 32 at
    # 3e-4, BiMixCo for the first 33%, prior loss x30, best of 16 samples; low-level branch 4096 x 4 blocks to a
    # 64-channel 16 x 16 map upsampled to the 64 x 64 latent. Not run here (no GPU, no VD weights).
    "paper": {
        "hidden": 4096,
        "blocks": 4,
        "projector": 2048,
        "dropout_in": 0.5,
        "dropout": 0.15,
        "prior_layers": 6,
        "prior_heads": 12,
        "prior_head_dim": 64,
        "prior_steps": 100,
        "low_channels": 64,
        "low_upsample": 4,
        "lr": 3e-4,
        "epochs": 240,
        "batch_size": 32,
        "best_of": 16,
        "steps": 20,
        "mixed_precision": "bf16",
    },
}


@dataclass(frozen=True)
class MindEyeOptions:
    """MindEye's decoder options (`--decoder-option KEY=VALUE`; `--list-options` prints this table).

    Knobs that default to None take the size preset's value (see PRESETS).
    """

    best_of: int | None = option(
        None, low=1, help="k: samples per image; kept: the one closest to the brain-predicted CLIP embedding"
    )
    strength: float = option(0.85, low=0, high=1, low_open=True, help="img2img strength from the low-level latent")
    guidance: float = option(3.5, low=1, help="classifier-free guidance scale")
    steps: int | None = option(None, low=1, help="scheduler steps of the generation (MindEye: 20)")
    scheduler: str = option("unipc", choices=tuple(SCHEDULERS), help="generation scheduler")
    preset: str = preset_option(PRESETS)
    epochs: int | None = option(None, low=1, help="passes over the training split")
    mixco_share: float | None = option(None, low=0, high=1, help="share of the epochs trained with BiMixCo")
    hidden: int | None = option(None, low=1, help="width of the residual MLPs (both branches)")
    blocks: int | None = option(None, low=1, help="residual blocks per MLP")
    batch_size: int | None = option(None, low=1, help="training batch")
    lr: float | None = option(None, low=0, low_open=True, help="AdamW peak learning rate (one-cycle schedule)")
    prior_layers: int | None = option(None, low=1, help="transformer layers of the diffusion prior")
    prior_heads: int | None = option(None, low=1, help="attention heads of the diffusion prior")
    prior_steps: int | None = option(None, low=1, help="DDIM steps when sampling the diffusion prior")


def config_for(n_train: int, options: MindEyeOptions, backbone: str = "minivd") -> MindEyeConfig:
    """The configuration for a training split of `n_train` images with `options` applied (`eval.presets`)."""
    return resolve(MindEyeConfig(), PRESETS, options, n_train, {"backbone": backbone})

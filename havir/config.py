"""HAVIR's frozen configuration, its size presets, the ablation table and the decoder's declared options.

Ablations are data: each entry of `ABLATIONS` replaces fields of `HavirConfig`, and the code reads only those
fields (which voxel group each module reads, which inputs reach the generation backbone), never the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eval.errors import ConfigError
from eval.options import option
from eval.presets import preset_option, resolve

# Fields that change what is trained (an ablation that changes none of them reuses the full model's checkpoint).
TRAINING_FIELDS = (
    "hidden",
    "blocks",
    "dropout",
    "feature_channels",
    "upsample",
    "lr",
    "weight_decay",
    "epochs",
    "finetune_epochs",
    "batch_size",
    "tau",
    "structural_group",
    "semantic_group",
    "backbone",
)


@dataclass(frozen=True)
class HavirConfig:
    """Everything that decides a HAVIR model and how it reconstructs.

    Attributes:
        preset: Name of the size preset the values came from ("synth", "paper" or "custom").
        hidden: Width of both modules' hidden layers.
        blocks: Residual MLP blocks per module.
        dropout: Dropout after the first layer and inside the residual blocks.
        feature_channels: Channels of the Structural Generator's low-resolution feature map.
        upsample: Factor from the low-resolution map to the latent's side (the map is latent side / upsample).
        lr: AdamW learning rate (one-cycle schedule).
        weight_decay: AdamW weight decay.
        epochs: Passes over the training split.
        finetune_epochs: Passes over the fine-tuning split when transferring from another subject (it is small:
            about one session).
        batch_size: Global batch (split evenly over processes when training with several).
        tau: SoftCLIP temperature (eq. 4).
        structural_group: Voxel group the Structural Generator reads.
        semantic_group: Voxel group the Semantic Extractor reads.
        use_latent: Start denoising from z' (False: from Gaussian noise).
        use_image: Condition on the predicted image tokens e'_img.
        use_text: Condition on the predicted text tokens e'_cap.
        diffuse: Run the diffusion backbone (False: decode z' with the AutoKL decoder, no guidance).
        strength: Structural strength s in (0, 1].
        mix_ratio: Weight of the text condition when both token types are used.
        guidance: Classifier-free guidance scale.
        steps: Scheduler steps N.
        backbone: Generation backbone: "minivd", a VD folder, or a hub id in the local cache.
        mixed_precision: "no", "bf16" or "fp16": the dtype of the forward passes' matmuls on CUDA (training and
            prediction; weights, optimizer state and losses stay float32); ignored on other devices.
    """

    preset: str = "synth"
    hidden: int = 256
    blocks: int = 1
    dropout: float = 0.15
    feature_channels: int = 32
    upsample: int = 2
    lr: float = 1e-3
    weight_decay: float = 1e-2
    epochs: int = 30
    finetune_epochs: int = 150
    batch_size: int = 64
    tau: float = 0.05
    structural_group: str = "structural"
    semantic_group: str = "semantic"
    use_latent: bool = True
    use_image: bool = True
    use_text: bool = True
    diffuse: bool = True
    strength: float = 0.75
    mix_ratio: float = 0.4
    guidance: float = 3.5
    steps: int = 20
    backbone: str = "minivd"
    mixed_precision: str = "no"

    def __post_init__(self) -> None:
        positive = {k: getattr(self, k) for k in ("hidden", "blocks", "feature_channels", "upsample", "epochs")}
        positive["finetune_epochs"] = self.finetune_epochs
        positive |= {"batch_size": self.batch_size, "steps": self.steps}
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"havir option {name}: expected a positive integer, found {value}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"havir option dropout: expected a value in [0, 1), found {self.dropout}")
        if not 0.0 < self.strength <= 1.0:
            raise ConfigError(f"havir option strength: expected a value in (0, 1], found {self.strength}")
        if not 0.0 <= self.mix_ratio <= 1.0:
            raise ConfigError(f"havir option mix_ratio: expected a value in [0, 1], found {self.mix_ratio}")
        if self.guidance < 1.0:
            raise ConfigError(f"havir option guidance: expected at least 1, found {self.guidance}")
        if self.lr <= 0 or self.tau <= 0:
            raise ConfigError(f"havir options lr and tau: expected positive values, found {self.lr}, {self.tau}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ConfigError(f"havir mixed_precision: expected no, bf16 or fp16, found {self.mixed_precision!r}")
        if not (self.use_latent or self.use_image or self.use_text):
            raise ConfigError("havir: expected at least one of z', e'_img, e'_cap as generation input, found none")
        if not self.diffuse and (not self.use_latent or self.use_image or self.use_text):
            raise ConfigError("havir: decoding without diffusion needs z' alone (no CLIP tokens)")

    @property
    def uses_structural(self) -> bool:
        return self.use_latent

    @property
    def uses_semantic(self) -> bool:
        return self.diffuse and (self.use_image or self.use_text)

    def training_key(self) -> dict[str, Any]:
        """The fields that change the trained weights (what a checkpoint must match)."""
        return {name: getattr(self, name) for name in TRAINING_FIELDS}


# Size presets, chosen by the number of training images (see `config_for` and `eval.presets`).
PRESETS: dict[str, dict[str, Any]] = {
    # SynthNSD (1000 training images, 2-6k voxels, MiniVD): trains in about a minute on one CPU thread.
    "synth": {},
    # Real NSD (about 9000 training images, 15k voxels, real VD) on a GPU; paper: 200 epochs, batch 30.
    "paper": {
        "hidden": 2048,
        "blocks": 4,
        "dropout": 0.25,
        "feature_channels": 64,
        "upsample": 4,
        "lr": 3e-4,
        "epochs": 200,
        "finetune_epochs": 200,
        "batch_size": 30,
        "mixed_precision": "bf16",
    },
}


ABLATIONS: dict[str, dict[str, Any]] = {
    # Paper Table IV: z' decoded by the AutoKL decoder alone, no CLIP guidance, no diffusion.
    "only_z": {"use_image": False, "use_text": False, "diffuse": False},
    # No text embedding guidance (the backbone gives the text condition weight 0).
    "no_cap": {"use_text": False},
    # No image embedding guidance.
    "no_img": {"use_image": False},
    # Gaussian noise start instead of z' (both token types kept).
    "no_z": {"use_latent": False},
    # Our control: both modules read every nsdgeneral voxel (no hierarchical split).
    "no_split": {"structural_group": "nsdgeneral", "semantic_group": "nsdgeneral"},
}

@dataclass(frozen=True)
class HavirOptions:
    """HAVIR's decoder options (`--decoder-option KEY=VALUE`; `--list-options` prints this table).

    Training knobs default to None: the size preset's value (see PRESETS).
    """

    strength: float = option(
        0.75, low=0, high=1, low_open=True, help="structural strength s: share of the denoising steps run from z'"
    )
    mix_ratio: float = option(0.4, low=0, high=1, help="weight of the text condition against the image condition")
    guidance: float = option(3.5, low=1, help="classifier-free guidance scale")
    steps: int = option(20, low=1, help="scheduler steps N")
    preset: str = preset_option(PRESETS)
    epochs: int | None = option(None, low=1, help="passes over the training split")
    finetune_epochs: int | None = option(None, low=1, help="passes over the fine-tuning split (--transfer-from)")
    hidden: int | None = option(None, low=1, help="width of both modules' hidden layers")
    blocks: int | None = option(None, low=1, help="residual MLP blocks per module")
    batch_size: int | None = option(None, low=1, help="global training batch")
    lr: float | None = option(None, low=0, low_open=True, help="AdamW learning rate (one-cycle schedule)")
    dropout: float | None = option(None, low=0, high=1, high_open=True, help="dropout in both modules")


def config_for(n_train: int, ablation: str | None, options: HavirOptions, backbone: str = "minivd") -> HavirConfig:
    """The configuration for a training split of `n_train` images, with `ablation` and `options` applied.

    The preset is "paper" from `eval.presets.LARGE_TRAINING_SET` training images on, else "synth", unless the
    options name one.
    """
    if ablation is not None and ablation not in ABLATIONS:
        raise ConfigError(f"--ablation: expected one of {', '.join(ABLATIONS)}, found {ablation!r}")
    fixed = {**ABLATIONS.get(ablation or "", {}), "backbone": backbone}
    return resolve(HavirConfig(), PRESETS, options, n_train, fixed)

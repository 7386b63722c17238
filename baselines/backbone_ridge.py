"""What the two ridge baselines of the field share: linear maps from voxels to the generation backbone's inputs.

Brain-Diffuser (Ozcelik & VanRullen 2023) and Takagi & Nishimoto (2023) both regress fMRI onto a diffusion model's
inputs with ridge and run img2img from the decoded latent. Each is a `Plan` (data: which voxel group each target
reads, which targets there are, the original's penalties) and its declared options; this module fits the ridges
(`baselines.ridge_cv`), keeps the checkpoints, and generates.

Targets are the backbone's (`eval.backbone.targets`, one cache entry shared with HAVIR and MindEye): the AutoKL
latent of the stimulus, the CLIP image tokens and the mean of the captions' CLIP text tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from baselines.ridge_cv import DualRidge, RidgeFit
from eval.atomic import write_json_atomic
from eval.backbone.shared import load_backbone
from eval.cache import stable_hash
from eval.checkpoints import Field, check_state, read_state, recorded, training_facts, voxel_groups
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import ConfigError, DataError, HarnessError, InputError
from eval.options import as_dict

log = logging.getLogger(__name__)

TARGETS = ("latents", "image_tokens", "text_tokens")
CHECKPOINT_VERSION = 1
# Options that change what is fitted (the rest only change generation, so they reuse the checkpoint).
FIT_OPTIONS = ("alphas", "alpha_per", "cv_folds")


@dataclass(frozen=True)
class Plan:
    """One baseline as data.

    reads: target -> voxel group it is regressed from (None: every column of the prepared data, i.e. the
        recipe's domain, nsdgeneral by default); the targets listed are the ones fitted and used.
    original_alphas: target -> the original's penalties (one value: fixed, several: its cross-validation grid).
    """

    name: str
    reads: Mapping[str, str | None]
    original_alphas: Mapping[str, tuple[float, ...]]


def group_size(target: str, per: str, shape: tuple[int, ...]) -> int | None:
    """How many consecutive outputs share a penalty: per token (the latent as one map, as the originals' one ridge
    per token and one for the latent), or each output its own (himalaya's RidgeCV)."""
    if per == "target":
        return 1
    return None if target == "latents" else int(shape[-1])


class BackboneRidgeDecoder:
    """Ridges from voxel groups to backbone inputs, then img2img from the decoded predicted latent."""

    def __init__(self, context: BuildContext, variant: Variant | None, spec: DecoderSpec, plan: Plan) -> None:
        variant = variant or Variant()
        if variant.ablation is not None:
            raise ConfigError(f"--ablation: decoder '{spec.name}' has no ablations, found {variant.ablation!r}")
        self.spec, self.plan = spec, plan
        self.options = variant.options or spec.options()
        self.backbone_name = variant.backbone or "minivd"
        self.device, self.seed, self.cache = context.device, context.seed, context.cache
        self.fits: dict[str, RidgeFit] = {}
        self.columns: dict[str, np.ndarray] = {}
        self.n_voxels = 0
        self.fingerprint = ""

    # --- what a result records ---------------------------------------------------------------------------
    @property
    def meta(self) -> DecoderMeta:
        flags: dict[str, Any] = {"seed": self.seed, "backbone": self.backbone_name, **as_dict(self.options)}
        flags["inputs"] = "+".join(self.plan.reads)
        for target, fit in self.fits.items():
            flags[f"ridge_{target}"] = fit.summary()
        return DecoderMeta(self.spec.name, self.spec.kind, self.spec.description, flags=flags)

    def training_key(self) -> dict[str, Any]:
        """Everything that changes the fitted ridges (besides the data and the seed)."""
        fit = {name: getattr(self.options, name) for name in FIT_OPTIONS}
        return {"plan": self.plan.name, "backbone": self.backbone_name, "reads": dict(self.plan.reads), **fit}

    def checkpoint_variant(self, data: SubjectData) -> str:
        return f"full-{stable_hash(self.training_key(), length=10)}"

    def inputs_name(self, target: str) -> str:
        """The checkpoint's name for the voxels `target` is regressed from."""
        return f"voxels-{self.plan.reads[target] or 'all'}"

    def backbone(self):
        return load_backbone(self.backbone_name, self.device)

    # --- fitting ------------------------------------------------------------------------------------------
    def _attach(self, data: SubjectData) -> None:
        if data.train_fmri.shape[0] < self.options.cv_folds:
            raise DataError(
                f"subject {data.subject}: {data.train_fmri.shape[0]} training images; "
                f"decoder '{self.spec.name}' needs at least {self.options.cv_folds} (cv_folds)"
            )
        self.columns = {
            target: np.arange(data.n_voxels) if group is None else np.asarray(data.group(group))
            for target, group in self.plan.reads.items()
        }
        self.n_voxels, self.fingerprint, self.subject = data.n_voxels, data.fingerprint, data.subject

    def alphas_for(self, target: str, solver: DualRidge) -> tuple[float, ...]:
        if self.options.alphas == "original":
            return self.plan.original_alphas[target]
        return solver.alpha_grid()

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        from eval.backbone.targets import cached_targets

        self._attach(data)
        vd = self.backbone()
        targets = cached_targets(vd, stimuli, data.train_ids, self.cache)
        fmri = np.asarray(data.train_fmri, dtype=np.float32)
        solvers: dict[str, DualRidge] = {}  # one decomposition per voxel group, shared by its targets
        for target, group in self.plan.reads.items():
            if group not in solvers:
                x = fmri[:, self.columns[target]]
                solvers[group] = DualRidge(x, folds=self.options.cv_folds, seed=self.seed, device=self.device)
            solver = solvers[group]
            y = getattr(targets, target)
            matrix = y.reshape(y.shape[0], -1)
            size = group_size(target, self.options.alpha_per, tuple(y.shape[1:]))
            self.fits[target] = solver.fit(matrix, alphas=self.alphas_for(target, solver), group_size=size)
            voxels = solver.x.shape[1]
            log.info("%s: ridge %s from %d voxels: %s", self.spec.name, target, voxels, self.fits[target].summary())

    # --- checkpoints --------------------------------------------------------------------------------------
    def trained_on(self) -> list[Field]:
        """What a checkpoint records of the data and settings it was fitted on, and a load must match."""
        groups = voxel_groups({target: int(len(cols)) for target, cols in self.columns.items()})
        return training_facts(self.fingerprint, self.subject, self.n_voxels, groups, self.training_key())

    def save(self, folder: Path) -> None:
        if not self.fits:
            raise HarnessError(f"decoder '{self.spec.name}': save() called before fit()")
        arrays: dict[str, torch.Tensor] = {}
        for target, fit in self.fits.items():  # targets read from one voxel group store its basis once
            for name, value in fit.to_arrays(target, shared=self.inputs_name(target)).items():
                arrays.setdefault(name, value)
        save_file(arrays, str(Path(folder) / "ridge.safetensors"))
        state = {
            "version": CHECKPOINT_VERSION,
            "subject": self.subject,
            **recorded(self.trained_on()),
            "alphas": {target: fit.summary() for target, fit in self.fits.items()},
        }
        write_json_atomic(Path(folder) / "ridge.json", state)

    def load(self, folder: Path, data: SubjectData, stimuli: Stimuli) -> None:
        path = Path(folder) / "ridge.json"
        state = read_state(path, self.spec.name)
        self._attach(data)
        check_state(state, path, self.spec.name, self.trained_on())
        arrays = load_file(str(Path(folder) / "ridge.safetensors"))
        self.fits = {
            target: RidgeFit.from_arrays(arrays, target, self.inputs_name(target), self.device)
            for target in self.plan.reads
        }

    # --- reconstruction -----------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, fmri: np.ndarray) -> dict[str, torch.Tensor]:
        """Each target's predictions in its backbone shape, rescaled to the training targets' statistics when the
        options say so (per output, with the statistics of these predictions: Brain-Diffuser's step)."""
        if not self.fits:
            raise HarnessError(f"decoder '{self.spec.name}': reconstruct() called before fit()")
        fmri = np.asarray(fmri, dtype=np.float32)
        if fmri.ndim != 2 or fmri.shape[1] != self.n_voxels:
            raise InputError(f"{self.spec.name} inputs: expected fMRI (n, {self.n_voxels}), found {list(fmri.shape)}")
        info = self.backbone().info
        shapes = {"latents": info.latent_shape, "image_tokens": info.image_token_shape,
                  "text_tokens": info.text_token_shape}
        out = {}
        for target, fit in self.fits.items():
            pred = fit.predict(fmri[:, self.columns[target]])
            if self.options.rescale:
                pred = rescale(pred, fit.y_mean, fit.y_std)
            out[target] = pred.float().reshape(len(fmri), *shapes[target])
        return out

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        from eval.backbone.sampling import GenerationOptions

        vd = self.backbone()
        pred = self.predict(inputs.fmri)
        start = vd.encode(vd.decode(pred["latents"]))  # the initial image, encoded as the originals do
        o = self.options
        options = GenerationOptions(
            steps=o.steps, strength=o.strength, guidance_scale=o.guidance, mix_ratio=getattr(o, "mix_ratio", 1.0),
            scheduler="ddim", seed=self.seed,
        )
        return vd.generate(
            latents=start, image_tokens=pred.get("image_tokens"), text_tokens=pred.get("text_tokens"), options=options
        )


def ridge_spec(plan: Plan, options: type, description: str) -> DecoderSpec:
    """The registry entry of the ridge baseline `plan` (named after it), with its declared `options` class."""

    def build(context: BuildContext, variant: Variant | None = None) -> BackboneRidgeDecoder:
        return BackboneRidgeDecoder(context, variant, spec, plan)

    spec = DecoderSpec(
        name=plan.name,
        kind="baseline",
        description=description,
        build=build,
        options=options,
        uses_backbone=True,
    )
    return spec


def rescale(pred: torch.Tensor, y_mean: torch.Tensor, y_std: torch.Tensor) -> torch.Tensor:
    """Per output: standardise across the rows, then scale to the training targets' mean and std (a constant
    output keeps the training mean)."""
    std = pred.std(0, correction=0)
    z = torch.where(std > 0, (pred - pred.mean(0)) / std.clamp(min=torch.finfo(pred.dtype).tiny), 0.0)
    return z * y_std + y_mean

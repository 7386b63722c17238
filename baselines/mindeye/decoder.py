"""The MindEye decoder behind the harness's interface: fit, save, load, predict, reconstruct (best of k)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from baselines.mindeye.config import MindEyeConfig, MindEyeOptions, config_for
from baselines.mindeye.modules import MindEyeModel, build_model
from baselines.mindeye.select import SELECTION, best_of_k, flat_embeddings
from baselines.mindeye.train import TrainingSet, train
from eval.atomic import write_json_atomic
from eval.backbone.shared import load_backbone
from eval.backbone.targets import cached_targets
from eval.cache import stable_hash
from eval.checkpoints import Field, check_state, read_state, recorded, training_facts
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import ConfigError, DataError, HarnessError, InputError
from eval.options import option_flags
from havir.device import autocast

log = logging.getLogger(__name__)

WEIGHTS = "mindeye.safetensors"
STATE = "mindeye.json"
CHECKPOINT_VERSION = 1
SAMPLE_SEED_STRIDE = 7919  # sample j of a reconstruction draws its noise from seed + j * stride


class MindEyeDecoder:
    """MindEye1 on one subject: residual MLP + diffusion prior to CLIP image tokens, a low-level latent, and
    img2img through the VD backbone, best of k samples by the brain-predicted embedding."""

    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        variant = variant or Variant()
        if variant.ablation is not None:
            raise ConfigError(f"--ablation {variant.ablation}: decoder 'mindeye' has no ablations")
        self.options: MindEyeOptions = variant.options or MindEyeOptions()
        self.backbone_name = variant.backbone or "minivd"
        self.device = context.device
        self.seed = context.seed
        self.cache = context.cache
        self.config: MindEyeConfig | None = None
        self.model: MindEyeModel | None = None
        self.columns = np.zeros(0, dtype=np.int64)
        self.n_voxels = 0
        self.history: list[dict[str, float]] = []
        self._vd = None

    # --- what a result records ---------------------------------------------------------------------------
    @property
    def meta(self) -> DecoderMeta:
        flags: dict[str, Any] = {"seed": self.seed, **option_flags(self.options, self.config)}
        if self.config is not None:
            c = self.config
            flags |= {"preset": c.preset}
            flags |= {"backbone": c.backbone, "selection": SELECTION, "generation_inputs": "low-level latent + prior "
                      "image tokens"}
        return DecoderMeta(MINDEYE.name, MINDEYE.kind, MINDEYE.description, flags=flags)

    def _config(self, n_train: int) -> MindEyeConfig:
        return config_for(n_train, self.options, self.backbone_name)

    def checkpoint_variant(self, data: SubjectData) -> str:
        """Checkpoint folder: one per set of training settings (generation options reuse it)."""
        config = self._config(int(data.train_fmri.shape[0]))
        return f"full-{stable_hash(config.training_key(), length=10)}"

    def backbone(self):
        if self._vd is None:
            self._vd = load_backbone(self.config.backbone if self.config else self.backbone_name, self.device)
        return self._vd

    # --- fitting ------------------------------------------------------------------------------------------
    def _attach(self, data: SubjectData) -> None:
        if data.train_fmri.shape[0] == 0:
            raise DataError(f"subject {data.subject}: no training data (0 training images); MindEye needs some to fit")
        self.config = self._config(int(data.train_fmri.shape[0]))
        self.columns = np.asarray(data.group(self.config.group))
        self.n_voxels = data.n_voxels
        self.fingerprint = data.fingerprint
        self.subject = data.subject

    def _new_model(self) -> MindEyeModel:
        """A fresh model on the decoder's device, initialised on the CPU (the same weights on every device)."""
        torch.manual_seed(self.seed)
        return build_model(self.config, len(self.columns), self.backbone().info).to(self.device)

    def training_set(self, data: SubjectData, stimuli: Stimuli) -> TrainingSet:
        """Inputs and targets on the CPU (the cached backbone targets: AutoKL latents and VD image tokens)."""
        fmri = torch.from_numpy(np.array(data.train_fmri, dtype=np.float32))
        targets = cached_targets(self.backbone(), stimuli, data.train_ids, self.cache)
        return TrainingSet(fmri[:, self.columns], targets.latents, targets.image_tokens)

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._attach(data)
        self.model = self._new_model()
        self.history = train(self.model, self.training_set(data, stimuli), self.config, self.seed)

    # --- checkpoints --------------------------------------------------------------------------------------
    def trained_on(self) -> list[Field]:
        """What a checkpoint records of the data and settings it was trained on, and a load must match."""
        groups = Field("group_size", "voxels read", int(len(self.columns)))  # one group, read by every branch
        return training_facts(self.fingerprint, self.subject, self.n_voxels, groups, self.config.training_key())

    def save(self, folder: Path) -> None:
        if self.model is None:
            raise HarnessError("decoder 'mindeye': save() called before fit()")
        folder = Path(folder)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
                  str(folder / WEIGHTS))
        state = {
            "version": CHECKPOINT_VERSION,
            "subject": self.subject,
            **recorded(self.trained_on()),
            "config": dataclasses.asdict(self.config),
            "history": self.history,
        }
        write_json_atomic(folder / STATE, state)

    def load(self, folder: Path, data: SubjectData, stimuli: Stimuli) -> None:
        path = Path(folder) / STATE
        state = read_state(path, "MindEye")
        self._attach(data)
        check_state(state, path, "MindEye", self.trained_on())
        self.model = self._new_model()
        self.model.load_state_dict(load_file(str(Path(folder) / WEIGHTS)))  # copied onto the parameters' device
        self.model.eval()
        self.history = state.get("history", [])

    # --- reconstruction -----------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, fmri: np.ndarray, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(low-level latents z', backbone tokens, prior image tokens), float32 on the decoder's device."""
        if self.model is None:
            raise HarnessError("decoder 'mindeye': reconstruct() called before fit()")
        fmri = np.asarray(fmri, dtype=np.float32)
        if fmri.ndim != 2 or fmri.shape[1] != self.n_voxels:
            raise InputError(f"MindEye inputs: expected fMRI (n, {self.n_voxels}), found {list(fmri.shape)}")
        self.model.eval()
        x = torch.from_numpy(np.array(fmri[:, self.columns], dtype=np.float32))
        outs = []
        for start in range(0, x.shape[0], batch_size):
            voxels = x[start : start + batch_size].to(self.device)
            with autocast(self.device, self.config.mixed_precision):
                brain, _ = self.model.brain(voxels)
                latents = self.model.low_level(voxels)
                tokens = self.model.prior.sample(brain.float(), self.config.prior_steps, self.seed, start)
            outs.append((latents.float(), brain.float(), tokens.float()))
        return tuple(torch.cat(parts) for parts in zip(*outs))

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        """img2img from z' at the strength, conditioned on the prior's tokens; k samples, the one whose CLIP
        image tokens are closest to the prior's (the brain-predicted embedding) is kept."""
        from eval.backbone.sampling import GenerationOptions

        latents, _, tokens = self.predict(inputs.fmri)
        c = self.config
        vd = self.backbone()
        samples, embeddings = [], []
        for j in range(c.best_of):
            options = GenerationOptions(steps=c.steps, strength=c.strength, guidance_scale=c.guidance,
                                        scheduler=c.scheduler, seed=self.seed + SAMPLE_SEED_STRIDE * j)
            images = vd.generate(latents=latents, image_tokens=tokens, options=options)
            samples.append(images)
            embeddings.append(flat_embeddings(vd, images))
        choice = best_of_k(torch.stack(embeddings), tokens.flatten(1).cpu())
        return torch.stack(samples)[choice, torch.arange(len(choice))]


MINDEYE = DecoderSpec(
    name="mindeye",
    kind="baseline",
    description="MindEye1 (Scotti et al. 2023): residual MLP + diffusion prior to CLIP image tokens (BiMixCo then "
    "SoftCLIP), low-level latent, Versatile Diffusion img2img at 0.85, best of k by the brain-predicted embedding",
    build=MindEyeDecoder,
    options=MindEyeOptions,
    uses_backbone=True,
)

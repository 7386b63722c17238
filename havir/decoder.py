"""The HAVIR decoder behind the harness's interface: fit, save, load, reconstruct, brain-map artifacts."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from eval.atomic import write_json_atomic
from eval.backbone.shared import load_backbone
from eval.backbone.targets import cached_targets
from eval.cache import stable_hash
from eval.checkpoints import Field, check_state, read_state, recorded, training_facts, voxel_groups
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import ConfigError, DataError, HarnessError, InputError
from eval.options import option_flags
from havir.config import ABLATIONS, TRAINING_FIELDS, HavirConfig, HavirOptions, config_for
from havir.device import autocast
from havir.modules import HavirModel
from havir.train import TrainingSet, build_model, train
from havir.transfer import (
    InputMap,
    fine_tune,
    finetune_data,
    load_input_map,
    pretrained_source,
    save_input_map,
    transplant,
)

log = logging.getLogger(__name__)

WEIGHTS = "havir.safetensors"
STATE = "havir.json"
INPUT_MAP = "havir_inputs.safetensors"  # only after a transfer: the test inputs' normalisation map
CHECKPOINT_VERSION = 1


class HavirDecoder:
    """Structural Generator + Semantic Extractor trained on one subject, reconstructing through a VD backbone."""

    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        variant = variant or Variant()
        self.ablation = variant.ablation
        if self.ablation is not None and self.ablation not in ABLATIONS:
            raise ConfigError(f"--ablation: expected one of {', '.join(ABLATIONS)}, found {self.ablation!r}")
        self.options: HavirOptions = variant.options or HavirOptions()
        self.backbone_name = variant.backbone or "minivd"
        self.device = context.device
        self.seed = context.seed
        self.cache = context.cache
        self.transfer = variant.transfer
        if self.transfer is not None and self.transfer.source == context.subject:
            source = self.transfer.source
            raise ConfigError(f"--transfer-from {source}: expected another subject than the evaluated one ({source})")
        self.context = context
        self.input_map = InputMap()
        self.config: HavirConfig | None = None
        self.model: HavirModel | None = None
        self.columns: dict[str, np.ndarray] = {}
        self.n_voxels = 0
        self.history: list[dict[str, float]] = []
        self._vd = None

    # --- what a result records ---------------------------------------------------------------------------
    @property
    def meta(self) -> DecoderMeta:
        # Options left to the preset are recorded with the value the preset gave them, once it is known.
        flags: dict[str, Any] = {"seed": self.seed, **option_flags(self.options, self.config)}
        if self.config is not None:
            c = self.config
            flags |= {
                "backbone": c.backbone,
                "inputs": "+".join(
                    k for k, on in (("z", c.use_latent), ("img", c.use_image), ("cap", c.use_text)) if on
                ),
                "diffusion": c.diffuse,
            }
        if self.transfer is not None:
            flags |= {"transfer_from": self.transfer.source, "finetune_sessions": self.transfer.sessions}
        return DecoderMeta(HAVIR.name, HAVIR.kind, HAVIR.description, ablation=self.ablation, flags=flags)

    def _config(self, n_train: int) -> HavirConfig:
        return config_for(n_train, self.ablation, self.options, self.backbone_name)

    def checkpoint_variant(self, data: SubjectData) -> str:
        """Checkpoint folder name: ablations that change no trained weight share the full model's checkpoint."""
        config = self._config(int(data.train_fmri.shape[0]))
        changes_training = any(field in TRAINING_FIELDS for field in ABLATIONS.get(self.ablation or "", {}))
        base = self.ablation if changes_training else "full"
        transfer = self.transfer.to_dict() if self.transfer else None
        return f"{base}-{stable_hash({'training': config.training_key(), 'transfer': transfer}, length=10)}"

    def source_decoder(self) -> HavirDecoder:
        """A decoder with this one's options and no transfer plan (the pretraining model of a transfer)."""
        context = dataclasses.replace(self.context, subject=self.transfer.source)
        source = HavirDecoder(context, Variant(self.ablation, self.options, self.backbone_name))
        source._vd = self._vd
        return source

    # --- backbone -----------------------------------------------------------------------------------------
    def backbone(self):
        if self._vd is None:
            self._vd = load_backbone(self.config.backbone, self.device)
        return self._vd

    # --- fitting ------------------------------------------------------------------------------------------
    def _attach(self, data: SubjectData) -> None:
        if data.train_fmri.shape[0] == 0:
            raise DataError(f"subject {data.subject}: no training data (0 training images); HAVIR needs some to fit")
        self.config = self._config(int(data.train_fmri.shape[0]))
        self.columns = {
            "structural": np.asarray(data.group(self.config.structural_group)),
            "semantic": np.asarray(data.group(self.config.semantic_group)),
        }
        self.n_voxels = data.n_voxels
        self.fingerprint = data.fingerprint
        self.subject = data.subject

    def _new_model(self) -> HavirModel:
        """A fresh model on the decoder's device, initialised on the CPU (the same weights on every device)."""
        torch.manual_seed(self.seed)
        n_str, n_sem = (len(self.columns[k]) for k in ("structural", "semantic"))
        return build_model(self.config, n_str, n_sem, self.backbone().info).to(self.device)

    def training_set(self, data: SubjectData, stimuli: Stimuli) -> TrainingSet:
        """Inputs and targets on the CPU (at paper scale the targets are ~10 GB); `train` moves each batch."""
        fmri = torch.from_numpy(np.array(data.train_fmri, dtype=np.float32))
        targets = cached_targets(self.backbone(), stimuli, data.train_ids, self.cache)
        return TrainingSet(fmri[:, self.columns["structural"]], fmri[:, self.columns["semantic"]], targets)

    def fit(self, data: SubjectData, stimuli: Stimuli, accelerator=None) -> None:
        self._attach(data)
        if self.transfer is not None:
            self._fit_transfer(data, stimuli)
            return
        self.model = self._new_model()
        if accelerator is not None:
            with accelerator.main_process_first():  # one process computes and caches the targets
                train_set = self.training_set(data, stimuli)
        else:
            train_set = self.training_set(data, stimuli)
        self.history = train(self.model, train_set, self.config, self.seed, accelerator=accelerator)

    def _fit_transfer(self, data: SubjectData, stimuli: Stimuli) -> None:
        source = pretrained_source(self, self.transfer, data, stimuli, self.cache)
        limited, self.input_map = finetune_data(self.transfer, data, stimuli, self.cache)
        self.model = self._new_model()
        transplant(source.model, self.model)
        train_set = self.training_set(limited, stimuli)
        self.history = fine_tune(self.model, train_set, self.config, self.seed)

    # --- checkpoints --------------------------------------------------------------------------------------
    def trained_on(self) -> list[Field]:
        """What a checkpoint records of the data and settings it was trained on, and a load must match."""
        groups = voxel_groups({k: int(len(v)) for k, v in self.columns.items()})
        return training_facts(self.fingerprint, self.subject, self.n_voxels, groups, self.config.training_key())

    def save(self, folder: Path) -> None:
        if self.model is None:
            raise HarnessError("decoder 'havir': save() called before fit()")
        folder = Path(folder)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(folder / WEIGHTS))
        state = {
            "version": CHECKPOINT_VERSION,
            "subject": self.subject,
            **recorded(self.trained_on()),
            "config": dataclasses.asdict(self.config),
            "transfer": self.transfer.to_dict() if self.transfer else None,
            "history": self.history,
        }
        write_json_atomic(folder / STATE, state)
        save_input_map(self.input_map, folder / INPUT_MAP)

    def load(self, folder: Path, data: SubjectData, stimuli: Stimuli) -> None:
        folder = Path(folder)
        path = folder / STATE
        state = read_state(path, "HAVIR")
        self._attach(data)
        check_state(state, path, "HAVIR", self.trained_on())
        self.model = self._new_model()
        self.model.load_state_dict(load_file(str(folder / WEIGHTS)))  # copied into the parameters on the device
        self.model.eval()
        self.history = state.get("history", [])
        self.input_map = load_input_map(folder / INPUT_MAP)

    # --- reconstruction -----------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, fmri: np.ndarray, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z', e'_img, e'_cap), float32 on the decoder's device, for rows of averaged fMRI over the subject's
        voxels (under autocast on CUDA when the configuration asks for mixed precision)."""
        if self.model is None:
            raise HarnessError("decoder 'havir': reconstruct() called before fit()")
        fmri = np.asarray(fmri, dtype=np.float32)
        if fmri.ndim != 2 or fmri.shape[1] != self.n_voxels:
            raise InputError(f"HAVIR inputs: expected fMRI (n, {self.n_voxels}), found {list(fmri.shape)}")
        fmri = self.input_map.apply(fmri)  # identity unless fine-tuned on another normalisation (transfer)
        self.model.eval()
        x = torch.from_numpy(np.array(fmri, dtype=np.float32))
        outs = []
        for chunk in x.split(batch_size):
            # Each module's columns are picked on the CPU: only those travel to the device.
            structural = chunk[:, self.columns["structural"]].to(self.device)
            semantic = chunk[:, self.columns["semantic"]].to(self.device)
            with autocast(self.device, self.config.mixed_precision):
                outs.append(tuple(out.float() for out in self.model(structural, semantic)))
        return tuple(torch.cat(parts) for parts in zip(*outs))

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        """Images from the predictions, which stay on the device: the backbone (on the same device) takes them."""
        from eval.backbone.sampling import GenerationOptions

        z, e_img, e_cap = self.predict(inputs.fmri)
        c = self.config
        vd = self.backbone()
        if not c.diffuse:
            return vd.decode(z)
        options = GenerationOptions(
            steps=c.steps, strength=c.strength, guidance_scale=c.guidance, mix_ratio=c.mix_ratio, seed=self.seed
        )
        return vd.generate(
            latents=z if c.use_latent else None,
            image_tokens=e_img if c.use_image else None,
            text_tokens=e_cap if c.use_text else None,
            options=options,
        )

    def write_artifacts(self, folder: Path, data: SubjectData) -> dict[str, Path]:
        """Brain maps of both modules (NIfTI and PNG slices) under `folder`."""
        from havir.brainmaps import write_brain_maps

        return write_brain_maps(self, data, folder)


HAVIR = DecoderSpec(
    name="havir",
    kind="method",
    description="HAVIR: Structural Generator (structural voxels -> AutoKL latent) + Semantic Extractor "
    "(semantic voxels -> CLIP image and text tokens), fused by Versatile Diffusion img2img",
    build=HavirDecoder,
    ablations=tuple(ABLATIONS),
    options=HavirOptions,
    uses_backbone=True,
    transfers=True,
)

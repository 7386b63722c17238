"""Transfer as in the paper: pretrain on one subject (all its training data), fine-tune on another with about one
hour of its data.

"One hour" is one NSD scan session: the target subject's training split is prepared again from its first
`finetune_sessions` sessions only (repetitions from later sessions are not averaged in), with the same
preparation options otherwise. Voxels differ between subjects, so each module's first linear layer (the
voxel-specific one, which the brain maps read) is new for the target subject; every later layer starts from the
pretrained model, and the whole model is fine-tuned.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from dataclasses import dataclass

from eval.atomic import atomic_folder
from eval.data.prepare import load_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions, SubjectData
from eval.errors import ConfigError, DataError
from eval.runner import checkpoint_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferPlan:
    """Pretrain on `source` subject, fine-tune on the first `sessions` sessions of the evaluated subject."""

    source: int
    sessions: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.source <= 8:
            raise ConfigError(f"--transfer-from: expected an NSD subject 1..8, found {self.source}")
        if self.sessions < 1:
            raise ConfigError(f"--finetune-sessions: expected a positive number of sessions, found {self.sessions}")

    def to_dict(self) -> dict[str, int]:
        return {"source": self.source, "sessions": self.sessions}


def prepare_options(data: SubjectData, **changes) -> PrepareOptions:
    """The preparation options `data` was made with, with `changes` applied."""
    options = dict(data.options)
    return dataclasses.replace(
        PrepareOptions(
            sessions=int(options["sessions"]),
            normalisation=options["normalisation"],
            betas_format=options["betas_format"],
            recipe=options.get("recipe") or {},
        ),
        **changes,
    )


def finetune_data(plan: TransferPlan, data: SubjectData, stimuli: Stimuli, cache_dir=None) -> SubjectData:
    """The target subject's training split from its first `plan.sessions` sessions."""
    if plan.source == data.subject:
        raise ConfigError(f"--transfer-from {plan.source}: expected another subject than the evaluated one")
    limited = load_subject(stimuli.root, data.subject, prepare_options(data, sessions=plan.sessions), cache_dir)
    if limited.train_fmri.shape[0] == 0:
        raise DataError(
            f"subject {data.subject}: no training images in its first {plan.sessions} session(s); "
            "expected at least one (raise --finetune-sessions)"
        )
    if limited.n_voxels != data.n_voxels:
        raise DataError(
            f"subject {data.subject}: {limited.n_voxels} voxels with {plan.sessions} session(s), "
            f"expected {data.n_voxels} as with all sessions"
        )
    log.info("transfer: fine-tuning on %d training images of %d session(s)", len(limited.train_ids), plan.sessions)
    return limited


def pretrained_source(decoder, plan: TransferPlan, data: SubjectData, stimuli: Stimuli, cache_dir=None):
    """A fitted decoder of the source subject: loaded from its checkpoint (the one a plain run of the source
    subject writes) or fitted and saved there now."""
    source_data = load_subject(stimuli.root, plan.source, prepare_options(data), cache_dir)
    if source_data.train_fmri.shape[0] == 0:
        raise DataError(f"--transfer-from {plan.source}: subject {plan.source} has no training data to pretrain on")
    source = decoder.source_decoder()
    folder = checkpoint_folder(cache_dir, "havir", source.checkpoint_variant(source_data), source_data, source.seed)
    if folder.is_dir():
        source.load(folder, source_data, stimuli)
        log.info("transfer: pretrained model of subject %d loaded from %s", plan.source, folder)
        return source
    source.fit(source_data, stimuli)
    if folder.is_dir():
        shutil.rmtree(folder)
    with atomic_folder(folder) as tmp:
        source.save(tmp)
    log.info("transfer: pretrained model of subject %d saved to %s", plan.source, folder)
    return source


def transplant(pretrained, fresh) -> None:
    """Copy every weight of `pretrained` into `fresh` except the voxel-specific input layers."""
    skip = {f"{name}.encoder.input." for name in ("structural", "semantic")}
    state = {k: v for k, v in pretrained.state_dict().items() if not any(k.startswith(s) for s in skip)}
    missing, unexpected = fresh.load_state_dict(state, strict=False)
    if unexpected or any(not any(k.startswith(s) for s in skip) for k in missing):
        raise RuntimeError(f"transfer: layers do not match (missing {missing}, unexpected {unexpected})")


def fine_tune(model, train_set, config, seed: int) -> list[dict[str, float]]:
    """Fine-tune a transplanted model: first only the new input layers (the pretrained layers frozen, so random
    inputs cannot disturb them), then everything; `config.finetune_epochs` in all, half in each phase."""
    from havir.train import train

    first = config.finetune_epochs // 2
    history = []
    if first:
        model.requires_grad_(False)
        for layer in model.input_layers().values():
            layer.requires_grad_(True)
        history += train(model, train_set, config, seed, epochs=first)
        model.requires_grad_(True)
    history += train(model, train_set, config, seed + 1, epochs=config.finetune_epochs - first)
    return history

"""Transfer as in the paper: pretrain on one subject (all its training data), fine-tune on another with about one
hour of its data.

"One hour" is one NSD scan session: the target subject's training split is prepared again from its first
`finetune_sessions` sessions only (repetitions from later sessions are not averaged in), with the same
preparation options otherwise. Voxels differ between subjects, so each module's first linear layer (the
voxel-specific one, which the brain maps read) is new for the target subject; every later layer starts from the
pretrained model, and the whole model is fine-tuned.

Training and test inputs use one normalisation. With `zscore_train` the fine-tuning rows are z-scored with the
statistics of the fine-tuning split itself (the only data of the new subject a decoder may learn from), and the
test inputs, which the harness z-scores with the full training split's statistics, are mapped onto the same
statistics before they reach the model (`InputMap`). `none` and `zscore_session` need no map: the first does not
normalise, the second normalises every session by its own training trials, test sessions included.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.cache import Cache
from eval.data.prepare import load_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions, SubjectData
from eval.decoders import Transfer
from eval.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputMap:
    """x -> x * scale + shift per voxel: test inputs z-scored with one set of statistics re-expressed in another.

    None for both means identity.
    """

    scale: np.ndarray | None = None
    shift: np.ndarray | None = None

    def apply(self, fmri: np.ndarray) -> np.ndarray:
        if self.scale is None:
            return fmri
        return (np.asarray(fmri, dtype=np.float64) * self.scale + self.shift).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {} if self.scale is None else {"scale": self.scale, "shift": self.shift}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> InputMap:
        return cls(arrays["scale"], arrays["shift"]) if arrays else cls()


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


def _train_statistics(data: SubjectData) -> tuple[np.ndarray, np.ndarray]:
    """Per-voxel mean and standard deviation of the training rows, as `zscore_train` computes them."""
    x = np.asarray(data.train_fmri, dtype=np.float64)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return x.mean(axis=0), std


def finetune_data(
    plan: Transfer, data: SubjectData, stimuli: Stimuli, cache: Cache | None = None
) -> tuple[SubjectData, InputMap]:
    """The target subject's training split from its first `plan.sessions` sessions, and the map that puts the
    harness's test inputs on the same normalisation."""
    if plan.source == data.subject:
        raise ConfigError(f"--transfer-from {plan.source}: expected another subject than the evaluated one")
    limited = load_subject(stimuli.root, data.subject, prepare_options(data, sessions=plan.sessions), cache)
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
    input_map = InputMap()
    if data.options["normalisation"] == "zscore_train":
        # Raw (percent signal change) statistics of both training splits: the test inputs were z-scored with
        # the full split's; the fine-tuning rows with the limited split's.
        full_raw = load_subject(stimuli.root, data.subject, prepare_options(data, normalisation="none"), cache)
        limited_raw = load_subject(
            stimuli.root, data.subject, prepare_options(data, sessions=plan.sessions, normalisation="none"), cache
        )
        (full_mean, full_std), (mean, std) = _train_statistics(full_raw), _train_statistics(limited_raw)
        input_map = InputMap(scale=full_std / std, shift=(full_mean - mean) / std)
    log.info("transfer: fine-tuning on %d training images of %d session(s)", len(limited.train_ids), plan.sessions)
    return limited, input_map


def pretrained_source(decoder, plan: Transfer, data: SubjectData, stimuli: Stimuli, cache: Cache | None = None):
    """A fitted decoder of the source subject: loaded from its checkpoint (the one a plain run of the source
    subject writes) or fitted and saved there now."""
    from eval.pipeline import fit_or_load

    source_data = load_subject(stimuli.root, plan.source, prepare_options(data), cache)
    if source_data.train_fmri.shape[0] == 0:
        raise DataError(f"--transfer-from {plan.source}: subject {plan.source} has no training data to pretrain on")
    source = decoder.source_decoder()
    done = fit_or_load("havir", source, source_data, stimuli, Cache.at(cache), seed=source.seed)
    log.info("transfer: pretrained model of subject %d: %s", plan.source, done)
    return source


def save_input_map(input_map: InputMap, path: Path) -> None:
    from safetensors.numpy import save_file

    if input_map.scale is not None:
        save_file(input_map.arrays(), str(path))


def load_input_map(path: Path) -> InputMap:
    from safetensors.numpy import load_file

    return InputMap.from_arrays(load_file(str(path))) if path.is_file() else InputMap()


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

"""The decoder interface: a small protocol every decoder satisfies, plus optional fitting and checkpoints.

A decoder turns test-set fMRI into images. The harness never asks what class a decoder is; it asks what it can
do (`Trainable`, `Checkpointable`), so a plugin needs no base class from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.results import DECODER_KINDS


@dataclass(frozen=True)
class DecoderMeta:
    """What a results file and a leaderboard say about a decoder.

    flags: test-time choices that change the numbers (e.g. blending with a blurry image, picking the best of k
    samples by similarity to the ground truth); recorded, never inferred from a name.
    """

    name: str
    kind: str
    description: str
    ablation: str | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildContext:
    """What the harness hands a decoder's builder."""

    ablation: str | None
    device: str
    seed: int
    subject: int
    vd_model: str | None = None  # generation backbone for diffusion decoders (None: the shipped MiniVD)
    options: Mapping[str, str] = field(default_factory=dict)  # --decoder-option KEY=VALUE pairs, as text
    transfer_from: int | None = None  # --transfer-from: pretrain on this subject, then fine-tune
    finetune_sessions: int = 1  # --finetune-sessions: sessions of the evaluated subject used to fine-tune
    cache_dir: Path | None = None


@dataclass(frozen=True)
class TestInputs:
    """The test set as a decoder sees it: averaged fMRI rows, in the order of `nsd_ids`.

    `nsd_ids` identifies the rows so outputs can be aligned; only reference decoders (the ground-truth upper
    bound) may look images up by it.
    """

    __test__ = False  # not a pytest test class, despite its name

    fmri: np.ndarray  # (n_test, n_voxels) float32
    nsd_ids: np.ndarray  # (n_test,) int64


class Decoder(Protocol):
    meta: DecoderMeta

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        """Images float32 [n_test, 3, H, W] in [0, 1], one per row of `inputs`, on any device (the harness moves
        them to the CPU)."""
        ...


@runtime_checkable
class Trainable(Protocol):
    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        """Learn from the subject's training split (and only from it)."""
        ...


@runtime_checkable
class Checkpointable(Protocol):
    """May also define `checkpoint_variant(data) -> str`, the checkpoint folder's name (default: the ablation)."""

    def save(self, folder: Path) -> None: ...

    def load(self, folder: Path, data: SubjectData, stimuli: Stimuli) -> None:
        """Restore a fitted state; raise HarnessError if it was fitted on other data (fingerprint, voxel count)."""
        ...


@runtime_checkable
class ArtifactWriter(Protocol):
    def write_artifacts(self, folder: Path, data: SubjectData) -> dict[str, Path]:
        """Write extra files (e.g. brain maps) under `folder`; return {artifact name: path} for the results."""
        ...


@dataclass(frozen=True)
class DecoderSpec:
    """A registry entry: how to build a decoder and which ablations it offers."""

    name: str
    kind: str
    description: str
    build: Callable[[BuildContext], Decoder]
    ablations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in DECODER_KINDS:  # caught at registration, not when a results file is written
            raise ValueError(f"decoder '{self.name}': kind must be one of {DECODER_KINDS}, found {self.kind!r}")

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

from eval.cache import Cache
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.errors import ConfigError
from eval.options import NoOptions
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
    """Harness facts a decoder's builder needs: where to compute, the seed, the subject, the cache."""

    device: str
    seed: int
    subject: int
    cache: Cache = field(default_factory=Cache.at)


@dataclass(frozen=True)
class Transfer:
    """Pretrain on subject `source` (all its training data), fine-tune on the first `sessions` sessions of the
    evaluated subject."""

    source: int
    sessions: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.source <= 8:
            raise ConfigError(f"--transfer-from: expected an NSD subject 1..8, found {self.source}")
        if self.sessions < 1:
            raise ConfigError(f"--finetune-sessions: expected a positive number of sessions, found {self.sessions}")

    def to_dict(self) -> dict[str, int]:
        return {"source": self.source, "sessions": self.sessions}


@dataclass(frozen=True)
class Variant:
    """What the user chose for one decoder: part of the run identity, checked against the decoder's spec.

    options: an instance of the spec's options class (None: its defaults). backbone: the generation backbone of
    a decoder that uses one (None: the shipped MiniVD).
    """

    ablation: str | None = None
    options: Any = None
    backbone: str | None = None
    transfer: Transfer | None = None


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
    """May also define `content_fingerprint() -> str`: a hash of outside content that its images come from and
    its options do not capture (the bytes of a file of reconstructions made elsewhere). The run identity records
    it (`options["content_sha256"]`), so a changed file is a new identity, not a silent replacement."""

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
    """May also define `checkpoint_variant(data) -> str`, the checkpoint folder's name (default: the ablation and
    a hash of the options)."""

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
    """A registry entry: how to build a decoder and what a user may choose for it.

    options: the frozen dataclass of its declared options (`eval.options`). uses_backbone: it generates through
    the shared backbone (so `--vd-model` applies). transfers: it supports `--transfer-from`. check: called with
    the variant and the subjects before any data is read; raises ConfigError on a choice the decoder cannot run.
    """

    name: str
    kind: str
    description: str
    build: Callable[[BuildContext, Variant], Decoder]
    ablations: tuple[str, ...] = ()
    options: type = NoOptions
    uses_backbone: bool = False
    transfers: bool = False
    check: Callable[[Variant, tuple[int, ...]], None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in DECODER_KINDS:  # caught at registration, not when a results file is written
            raise ValueError(f"decoder '{self.name}': kind must be one of {DECODER_KINDS}, found {self.kind!r}")

    def default_variant(self) -> Variant:
        return Variant(options=self.options())

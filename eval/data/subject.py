"""The prepared data of one subject, the unit every decoder trains and reconstructs from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.errors import ConfigError, DataError

NORMALISATIONS = {
    "none": "percent signal change (stored value / 300), repetitions averaged",
    "zscore_train": "percent signal change, repetitions averaged, z-scored per voxel with training-set statistics "
    "(brain-diffuser)",
    "zscore_session": "each session z-scored per voxel with statistics of its training trials, then repetitions "
    "averaged (MindEye2)",
}


@dataclass(frozen=True)
class PrepareOptions:
    """Every choice that changes the prepared arrays; recorded with each result."""

    sessions: int = 37
    normalisation: str = "zscore_train"
    betas_format: str = "auto"
    recipe: Mapping[str, Any] = field(default_factory=dict)  # VoxelRecipe.to_dict(); empty = default recipe

    def __post_init__(self) -> None:
        # Checked here, so a bad option fails before any file is touched.
        from eval.data.betas import BETA_FORMATS
        from eval.data.layout import DESIGN_SESSIONS

        if not 1 <= self.sessions <= DESIGN_SESSIONS:
            raise ConfigError(f"--sessions: expected 1..{DESIGN_SESSIONS}, found {self.sessions}")
        if self.normalisation not in NORMALISATIONS:
            raise ConfigError(
                f"--normalisation: expected one of {sorted(NORMALISATIONS)}, found {self.normalisation!r}"
            )
        if self.betas_format not in BETA_FORMATS:
            raise ConfigError(f"--betas-format: expected one of {BETA_FORMATS}, found {self.betas_format!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "normalisation": self.normalisation,
            "betas_format": self.betas_format,
            "recipe": dict(self.recipe),
        }


@dataclass(frozen=True)
class SubjectData:
    """Averaged, normalised responses of one subject, split by the shared-image rule.

    Rows are images ordered by NSD id (0-based); columns are the voxels of the recipe's domain (nsdgeneral by
    default), whose volume coordinates are `voxel_xyz`. `groups` maps each voxel group to its column indices.
    """

    subject: int
    train_fmri: np.ndarray  # (n_train, n_voxels) float32
    test_fmri: np.ndarray  # (n_test, n_voxels) float32
    train_ids: np.ndarray  # (n_train,) int64 NSD ids
    test_ids: np.ndarray  # (n_test,) int64 NSD ids
    train_reps: np.ndarray  # (n_train,) repetitions averaged
    test_reps: np.ndarray  # (n_test,)
    groups: Mapping[str, np.ndarray]
    voxel_xyz: np.ndarray  # (n_voxels, 3)
    volume_shape: tuple[int, int, int]
    affine: np.ndarray  # (4, 4)
    options: Mapping[str, Any]
    fingerprint: str  # sha256 of the prepared arrays and options: what a checkpoint is tied to

    @property
    def n_voxels(self) -> int:
        return int(self.voxel_xyz.shape[0])

    def group(self, name: str) -> np.ndarray:
        if name not in self.groups:
            raise DataError(f"subject {self.subject}: no voxel group '{name}'; expected one of {sorted(self.groups)}")
        return self.groups[name]

    # --- cache round trip: one .npy per array (memory-mapped on load) plus meta.json ---

    _ARRAYS = ("train_fmri", "test_fmri", "train_ids", "test_ids", "train_reps", "test_reps", "voxel_xyz", "affine")

    def save(self, folder: Path) -> None:
        for name in self._ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        for name, columns in self.groups.items():
            np.save(folder / f"group__{name}.npy", columns)
        meta = {
            "subject": self.subject,
            "volume_shape": list(self.volume_shape),
            "options": dict(self.options),
            "fingerprint": self.fingerprint,
            "groups": list(self.groups),
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> SubjectData:
        meta = json.loads((folder / "meta.json").read_text())
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in cls._ARRAYS}
        groups = {name: np.load(folder / f"group__{name}.npy") for name in meta["groups"]}
        return cls(
            subject=int(meta["subject"]),
            groups=groups,
            volume_shape=tuple(meta["volume_shape"]),
            options=meta["options"],
            fingerprint=meta["fingerprint"],
            **arrays,
        )

"""The prepared data of one subject, the unit every decoder trains and reconstructs from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.cache import read_meta
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
        """Read a saved folder; ValueError, OSError or KeyError when it is damaged (the cache then rebuilds it)."""
        meta = read_meta(folder / "meta.json")
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in cls._ARRAYS}
        groups = {name: np.load(folder / f"group__{name}.npy") for name in meta["groups"]}
        _check_saved_shapes(folder, arrays, groups)
        return cls(
            subject=int(meta["subject"]),
            groups=groups,
            volume_shape=tuple(meta["volume_shape"]),
            options=meta["options"],
            fingerprint=meta["fingerprint"],
            **arrays,
        )


def _check_saved_shapes(folder: Path, arrays: Mapping[str, np.ndarray], groups: Mapping[str, np.ndarray]) -> None:
    """Arrays of one saved subject agree on rows and voxels (numpy checks each file, not the set of them)."""
    n_voxels = arrays["voxel_xyz"].shape[0] if arrays["voxel_xyz"].ndim == 2 else -1
    expected = {
        "train_fmri": (arrays["train_ids"].shape[0], n_voxels),
        "test_fmri": (arrays["test_ids"].shape[0], n_voxels),
        "train_reps": arrays["train_ids"].shape,
        "test_reps": arrays["test_ids"].shape,
        "voxel_xyz": (n_voxels, 3),
        "affine": (4, 4),
    }
    for name, shape in expected.items():
        if arrays[name].shape != tuple(shape):
            raise ValueError(f"{folder / name}.npy: expected shape {tuple(shape)}, found {arrays[name].shape}")
    for name, columns in groups.items():
        if columns.ndim != 1 or (columns.size and (columns.min() < 0 or columns.max() >= n_voxels)):
            raise ValueError(f"{folder}/group__{name}.npy: expected column indices in 0..{n_voxels - 1}")

"""Reading single-trial betas of one session, masked to the chosen voxels, from .hdf5 or .nii.gz.

The volumes are read in their stored dtype (int16) and masked before any conversion: a float64 copy of a whole
session (`get_fdata()`) would cost about 4 GB on real NSD.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np

from eval.data import layout
from eval.errors import ConfigError, DataError

log = logging.getLogger(__name__)

BETA_FORMATS = ("auto", "hdf5", "nifti")
_HDF5_TRIAL_BLOCK = 64  # trials per read: bounds memory to one block of whole volumes


@dataclass(frozen=True)
class VoxelIndex:
    """Voxel coordinates (x, y, z) in the functional volume, in the column order of the prepared data."""

    xyz: np.ndarray  # (n_voxels, 3) int64
    volume_shape: tuple[int, int, int]

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> VoxelIndex:
        return cls(xyz=np.argwhere(mask).astype(np.int64), volume_shape=tuple(int(s) for s in mask.shape))

    @property
    def n_voxels(self) -> int:
        return int(self.xyz.shape[0])


def session_files(root: Path, subject: int, session: int, fmt: str) -> tuple[Path | None, Path | None]:
    """(hdf5, nifti) paths that will be read for this session; at least one exists or DataError."""
    if fmt not in BETA_FORMATS:
        raise ConfigError(f"--betas-format: expected one of {BETA_FORMATS}, found {fmt!r}")
    h5 = layout.betas_hdf5(root, subject, session)
    nii = layout.betas_nifti(root, subject, session)
    has_h5, has_nii = h5.is_file(), nii.is_file()
    if fmt == "hdf5" and not has_h5:
        raise DataError(f"missing betas: expected file {h5}")
    if fmt == "nifti" and not has_nii:
        raise DataError(f"missing betas: expected file {nii}")
    if not (has_h5 or has_nii):
        found = available_sessions(root, subject)
        hint = f" (found sessions 1..{found} only: use --sessions {found} or fewer)" if found else ""
        raise DataError(f"missing betas for session {session}: expected file {h5} or {nii}{hint}")
    return (h5 if has_h5 and fmt != "nifti" else None), (nii if has_nii and fmt != "hdf5" else None)


def available_sessions(root: Path, subject: int) -> int:
    """How many consecutive sessions, from session 1, have a betas file in either format."""
    session = 0
    while (
        layout.betas_hdf5(root, subject, session + 1).is_file()
        or layout.betas_nifti(root, subject, session + 1).is_file()
    ):
        session += 1
    return session


def read_session(
    root: Path, subject: int, session: int, voxels: VoxelIndex, expected_trials: int, fmt: str = "auto"
) -> np.ndarray:
    """Betas of one session as (trials, voxels) float32 in percent signal change.

    With both files present ('auto'), the hdf5 is read and checked against the NIfTI's shape and first volume.
    """
    h5_path, nii_path = session_files(root, subject, session, fmt)
    if h5_path is not None and nii_path is not None:
        _check_formats_agree(h5_path, nii_path, voxels)
    if h5_path is not None:
        raw, path = _read_hdf5(h5_path, voxels), h5_path
    else:
        raw, path = _read_nifti(nii_path, voxels), nii_path
    log.debug("betas %s: %s %s", path, raw.dtype, raw.shape)
    if raw.shape[0] != expected_trials:
        raise DataError(
            f"betas {path}: expected {expected_trials} trials (the design's trials per session), found {raw.shape[0]}"
        )
    return _to_percent(raw, path)


def _to_percent(raw: np.ndarray, path: Path) -> np.ndarray:
    if np.issubdtype(raw.dtype, np.floating):
        bad = ~np.isfinite(raw)
        if bad.any():
            trial, voxel = np.argwhere(bad)[0]
            raise DataError(
                f"betas {path}: expected finite values, found {int(bad.sum())} NaN/inf inside the voxel mask "
                f"(first at trial {trial}, voxel {voxel})"
            )
    elif not np.issubdtype(raw.dtype, np.integer):
        raise DataError(f"betas {path}: expected int16 (or float) values, found dtype {raw.dtype}")
    return raw.astype(np.float32) / np.float32(layout.BETA_SCALE)


def _open_nifti(path: Path, volume_shape: tuple[int, int, int]) -> nib.Nifti1Image:
    try:
        img = nib.load(str(path))
    except Exception as exc:
        raise DataError(f"cannot read betas {path}: {exc}") from exc
    if img.ndim != 4 or tuple(img.shape[:3]) != volume_shape:
        raise DataError(f"betas {path}: expected shape {volume_shape + ('trials',)}, found {img.shape}")
    return img


def _read_nifti(path: Path, voxels: VoxelIndex) -> np.ndarray:
    img = _open_nifti(path, voxels.volume_shape)
    try:
        data = np.asanyarray(img.dataobj)  # stored dtype: int16 for NSD (no scaling in the header)
    except Exception as exc:
        raise DataError(f"cannot read betas {path}: {exc}") from exc
    x, y, z = voxels.xyz.T
    return np.ascontiguousarray(data[x, y, z, :].T)


def _hdf5_dataset(handle: h5py.File, path: Path, volume_shape: tuple[int, int, int]) -> h5py.Dataset:
    if "betas" not in handle:
        raise DataError(f"betas {path}: expected dataset 'betas', found {list(handle.keys())}")
    dset = handle["betas"]
    expected = tuple(reversed(volume_shape))  # hdf5 stores (trials, Z, Y, X)
    if dset.ndim != 4 or tuple(dset.shape[1:]) != expected:
        raise DataError(f"betas {path}: expected shape ('trials',) + {expected} (Z, Y, X), found {dset.shape}")
    return dset


def _read_hdf5(path: Path, voxels: VoxelIndex) -> np.ndarray:
    x, y, z = voxels.xyz.T
    try:
        with h5py.File(path, "r") as handle:
            dset = _hdf5_dataset(handle, path, voxels.volume_shape)
            out = np.empty((dset.shape[0], voxels.n_voxels), dtype=dset.dtype)
            for start in range(0, dset.shape[0], _HDF5_TRIAL_BLOCK):
                block = dset[start : start + _HDF5_TRIAL_BLOCK]
                out[start : start + block.shape[0]] = block[:, z, y, x]
    except OSError as exc:
        raise DataError(f"cannot read betas {path}: {exc}") from exc
    return out


def _check_formats_agree(h5_path: Path, nii_path: Path, voxels: VoxelIndex) -> None:
    """Cheap agreement check: same trial count and identical first volume inside the voxel mask."""
    x, y, z = voxels.xyz.T
    img = _open_nifti(nii_path, voxels.volume_shape)
    try:
        with h5py.File(h5_path, "r") as handle:
            dset = _hdf5_dataset(handle, h5_path, voxels.volume_shape)
            if dset.shape[0] != img.shape[3]:
                raise DataError(
                    f"betas {h5_path} and {nii_path} disagree: expected the same trial count, "
                    f"found {dset.shape[0]} and {img.shape[3]}"
                )
            first_h5 = dset[0][z, y, x]
    except OSError as exc:
        raise DataError(f"cannot read betas {h5_path}: {exc}") from exc
    try:
        first_nii = np.asanyarray(img.dataobj[..., 0])[x, y, z]
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise DataError(f"cannot read betas {nii_path}: {exc}") from exc
    if not np.array_equal(first_h5, first_nii):
        n_diff = int(np.count_nonzero(first_h5 != first_nii))
        raise DataError(
            f"betas {h5_path} and {nii_path} disagree: expected identical values, "
            f"found {n_diff} of {voxels.n_voxels} voxels different in trial 1"
        )

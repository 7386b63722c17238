"""Betas: both formats give the same arrays; bad files give one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest

from eval.data import layout
from eval.data.betas import VoxelIndex, read_session
from eval.data.design import load_design
from eval.data.prepare import build_subject
from eval.data.subject import PrepareOptions
from eval.data.volumes import load_brainmask
from eval.errors import DataError


def _voxels(root: Path, subject: int) -> VoxelIndex:
    mask, _ = load_brainmask(root, subject)
    return VoxelIndex.from_mask(mask)


def _trials(root: Path) -> int:
    return load_design(root).trials_per_session


def test_nifti_and_hdf5_give_identical_arrays(synth_root: Path) -> None:
    voxels = _voxels(synth_root, 1)
    for session in (1, 2, 40):
        from_h5 = read_session(synth_root, 1, session, voxels, _trials(synth_root), fmt="hdf5")
        from_nii = read_session(synth_root, 1, session, voxels, _trials(synth_root), fmt="nifti")
        assert from_h5.dtype == np.float32
        assert from_h5.shape == (_trials(synth_root), voxels.n_voxels)
        np.testing.assert_array_equal(from_h5, from_nii)
        assert np.abs(from_h5).max() > 0  # real signal, not an empty file


def test_prepared_subject_is_the_same_from_either_format(synth_root: Path) -> None:
    a = build_subject(synth_root, 2, PrepareOptions(betas_format="hdf5"))
    b = build_subject(synth_root, 2, PrepareOptions(betas_format="nifti"))
    np.testing.assert_array_equal(a.train_fmri, b.train_fmri)
    np.testing.assert_array_equal(a.test_fmri, b.test_fmri)


def test_formats_that_disagree_are_refused(synth_copy: Path) -> None:
    path = layout.betas_hdf5(synth_copy, 1, 3)
    with h5py.File(path, "r+") as handle:
        first = handle["betas"][0]
        handle["betas"][0] = first + np.int16(7) * (first != 0)
    with pytest.raises(DataError, match=r"betas_session03\.hdf5 and .*betas_session03\.nii\.gz disagree"):
        read_session(synth_copy, 1, 3, _voxels(synth_copy, 1), _trials(synth_copy))


def test_missing_betas_name_the_expected_path(synth_copy: Path) -> None:
    layout.betas_hdf5(synth_copy, 1, 2).unlink()
    layout.betas_nifti(synth_copy, 1, 2).unlink()
    with pytest.raises(DataError, match=r"missing betas for session 2: expected file .*betas_session02\.hdf5"):
        read_session(synth_copy, 1, 2, _voxels(synth_copy, 1), _trials(synth_copy))


def test_fewer_sessions_than_asked_suggest_the_count_found(synth_copy: Path) -> None:
    for session in range(33, 41):  # like NSD subjects 3 and 6, who completed 32 sessions
        layout.betas_hdf5(synth_copy, 2, session).unlink()
        layout.betas_nifti(synth_copy, 2, session).unlink()
    with pytest.raises(DataError, match=r"session 33: .* \(found sessions 1\.\.32 only: use --sessions 32 or fewer\)"):
        build_subject(synth_copy, 2, PrepareOptions(sessions=37))


def _float_nifti_with(synth_copy: Path, value: float) -> Path:
    """Replace session 1 with a float32 NIfTI (no hdf5) holding `value` at one in-brain voxel."""
    path = layout.betas_nifti(synth_copy, 1, 1)
    img = nib.load(str(path))
    data = np.asanyarray(img.dataobj).astype(np.float32)
    x, y, z = _voxels(synth_copy, 1).xyz[5]
    data[x, y, z, 4] = value
    nib.save(nib.Nifti1Image(data, img.affine), str(path))
    layout.betas_hdf5(synth_copy, 1, 1).unlink()
    return path


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_betas_are_refused(synth_copy: Path, value: float) -> None:
    _float_nifti_with(synth_copy, value)
    with pytest.raises(DataError, match=r"betas_session01\.nii\.gz: expected finite values, found 1 NaN/inf"):
        read_session(synth_copy, 1, 1, _voxels(synth_copy, 1), _trials(synth_copy))


def test_wrong_trial_count_is_refused(synth_copy: Path) -> None:
    with pytest.raises(DataError, match=r"expected 999 trials .* found"):
        read_session(synth_copy, 1, 1, _voxels(synth_copy, 1), 999)


def test_betas_of_another_volume_shape_are_refused(synth_copy: Path) -> None:
    path = layout.betas_nifti(synth_copy, 1, 1)
    img = nib.load(str(path))
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj)[:-1], img.affine), str(path))
    layout.betas_hdf5(synth_copy, 1, 1).unlink()
    with pytest.raises(DataError, match=r"betas_session01\.nii\.gz: expected shape"):
        read_session(synth_copy, 1, 1, _voxels(synth_copy, 1), _trials(synth_copy))

"""Import brain-diffuser's preprocessed files (`nsd_{train,test}_fmriavg_nsdgeneral_sub{N}.npy`).

Those files hold raw betas (stored value, not divided by 300) averaged over repetitions, one row per image in
order of first presentation within the first 37 sessions, one column per nsdgeneral voxel in C order of the
(X, Y, Z) volume. They carry no NSD ids, so the design file of an NSD root is needed to name the rows; the ROI
volumes of the same root give the voxel groups. Rows are re-ordered by NSD id like every prepared subject.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.data import layout
from eval.data.design import load_design, subject_trials
from eval.data.prepare import assemble, recipe_of, voxel_space
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions, SubjectData
from eval.data.volumes import require_file
from eval.errors import ConfigError, DataError

BRAINDIFFUSER_SESSIONS = 37


def braindiffuser_files(folder: Path, subject: int) -> dict[str, Path]:
    return {split: Path(folder) / f"nsd_{split}_fmriavg_nsdgeneral_sub{subject}.npy" for split in ("train", "test")}


def first_presentation_order(nsd_ids: np.ndarray) -> np.ndarray:
    """Unique ids in order of first appearance (brain-diffuser's dict insertion order)."""
    _, first = np.unique(nsd_ids, return_index=True)
    return nsd_ids[np.sort(first)]


def braindiffuser_test_ids(nsd_root: Path, subject: int) -> np.ndarray:
    """The NSD ids of the rows of brain-diffuser's test files, and of reconstructions made in their order: the
    shared images of the first 37 sessions in order of first presentation."""
    trials = subject_trials(load_design(Path(nsd_root)), subject, BRAINDIFFUSER_SESSIONS)
    return first_presentation_order(trials.nsd_ids[trials.is_test])


def import_braindiffuser(folder: Path, subject: int, nsd_root: Path, options: PrepareOptions) -> SubjectData:
    """A SubjectData built from brain-diffuser's averaged arrays, named and grouped with `nsd_root`."""
    if options.normalisation == "zscore_session":
        raise ConfigError(
            "--normalisation zscore_session: brain-diffuser files are already averaged; use none or zscore_train"
        )
    if options.sessions != BRAINDIFFUSER_SESSIONS:
        raise ConfigError(
            f"--sessions: brain-diffuser files cover {BRAINDIFFUSER_SESSIONS} sessions, found {options.sessions}"
        )
    recipe = recipe_of(options)
    space = voxel_space(Path(nsd_root), subject, recipe)
    trials = subject_trials(load_design(Path(nsd_root)), subject, BRAINDIFFUSER_SESSIONS)
    splits = {}
    for split, path in braindiffuser_files(folder, subject).items():
        fmri = np.load(require_file(path, f"brain-diffuser {split} fMRI"), mmap_mode="r")
        wanted = trials.is_test if split == "test" else ~trials.is_test
        ids = first_presentation_order(trials.nsd_ids[wanted])
        if fmri.ndim != 2 or fmri.shape != (ids.size, space.voxels.n_voxels):
            raise DataError(
                f"brain-diffuser file {path}: expected shape ({ids.size}, {space.voxels.n_voxels}) "
                f"(images in the first {BRAINDIFFUSER_SESSIONS} sessions, nsdgeneral voxels), found {fmri.shape}"
            )
        values = np.asarray(fmri, dtype=np.float32) / np.float32(layout.BETA_SCALE)
        if not np.isfinite(values).all():
            raise DataError(f"brain-diffuser file {path}: expected finite values, found NaN or inf")
        order = np.argsort(ids)
        reps = np.bincount(np.searchsorted(np.sort(ids), trials.nsd_ids[wanted]), minlength=ids.size)
        splits[split] = (ids[order], values[order], reps)
        _check_stimuli(folder, subject, split, ids, nsd_root)
    return assemble(subject, splits["train"], splits["test"], space, options, recipe)


def _check_stimuli(folder: Path, subject: int, split: str, ids: np.ndarray, nsd_root: Path) -> None:
    """If the matching stimulus file is there, its first image must be the one our row order names."""
    path = Path(folder) / f"nsd_{split}_stim_sub{subject}.npy"
    if not path.is_file():
        return
    stim = np.load(path, mmap_mode="r")
    expected = Stimuli(Path(nsd_root)).images(ids[:1])[0]
    if stim.shape[1:3] != expected.shape[:2] or not np.allclose(
        np.asarray(stim[0], dtype=np.float64), expected, atol=1
    ):
        raise DataError(
            f"brain-diffuser file {path}: its first image is not NSD image {ids[0]}; "
            f"expected rows in order of first presentation in {nsd_root}"
        )

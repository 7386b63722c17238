"""Build a subject's prepared data from an NSD root: mask, split, read, average, normalise, fingerprint."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from eval.atomic import atomic_folder
from eval.cache import Cache, stable_hash
from eval.data import layout
from eval.data.betas import VoxelIndex, read_session, session_files
from eval.data.design import SubjectTrials, load_design, subject_trials
from eval.data.recipe import DEFAULT_RECIPE, Atlas, VoxelRecipe, atlases_used, evaluate
from eval.data.subject import PrepareOptions, SubjectData
from eval.data.volumes import load_brainmask, load_label_table, load_roi
from eval.errors import DataError

log = logging.getLogger(__name__)

READER_VERSION = 1  # bump when the prepared arrays change for the same inputs


def recipe_of(options: PrepareOptions) -> VoxelRecipe:
    return VoxelRecipe.from_dict(options.recipe) if options.recipe else DEFAULT_RECIPE


def load_subject(root: Path, subject: int, options: PrepareOptions, cache: Cache | None = None) -> SubjectData:
    """Prepared data of `subject`, from the cache when its source files and options are unchanged."""
    root = Path(root)
    key = _source_key(root, subject, options)
    cache = Cache.at(cache)
    folder = cache.entry("prepared", key, prefix=layout.subject_tag(subject))
    cached = cache.read(folder, SubjectData.load, f"prepared data of subject {subject}")
    if cached is not None:
        log.info("subject %d: prepared data from cache %s", subject, folder)
        return cached
    data = build_subject(root, subject, options)
    with atomic_folder(folder) as tmp:
        data.save(tmp)
    return SubjectData.load(folder)


def build_subject(root: Path, subject: int, options: PrepareOptions) -> SubjectData:
    """Read every session of `subject` and return its averaged, normalised train/test arrays."""
    start = time.perf_counter()
    recipe = recipe_of(options)
    context = f"subject {subject} ({layout.func_dir(root, subject)})"
    space = voxel_space(root, subject, recipe)
    voxels, groups = space.voxels, space.groups

    design = load_design(root)
    trials = subject_trials(design, subject, options.sessions)
    train_ids = np.unique(trials.nsd_ids[~trials.is_test])
    test_ids = np.unique(trials.nsd_ids[trials.is_test])
    if train_ids.size == 0:
        raise DataError(f"{context}: no training trials in the first {options.sessions} sessions")
    sums, counts = _average_sessions(
        root, subject, trials, (train_ids, test_ids), voxels, design.trials_per_session, options
    )
    means = sums / counts[:, None].astype(np.float32)
    n_train = train_ids.size
    data = assemble(
        subject,
        (train_ids, means[:n_train], counts[:n_train]),
        (test_ids, means[n_train:], counts[n_train:]),
        space,
        options,
        recipe,
    )
    log.info(
        "subject %d: %d train / %d test images, %d voxels (%s) in %.1f s",
        subject,
        train_ids.size,
        test_ids.size,
        voxels.n_voxels,
        ", ".join(f"{k} {v.size}" for k, v in groups.items()),
        time.perf_counter() - start,
    )
    return data


def assemble(
    subject: int,
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    space: VoxelSpace,
    options: PrepareOptions,
    recipe: VoxelRecipe,
) -> SubjectData:
    """SubjectData from (ids, averaged responses, repetition counts) of each split, normalised and fingerprinted."""
    (train_ids, train_x, train_reps), (test_ids, test_x, test_reps) = train, test
    if options.normalisation == "zscore_train":
        mean, std = train_x.mean(axis=0), train_x.std(axis=0)
        std[std == 0] = 1.0  # a constant voxel carries nothing; keep it finite
        train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    data = SubjectData(
        subject=subject,
        train_fmri=np.ascontiguousarray(train_x, dtype=np.float32),
        test_fmri=np.ascontiguousarray(test_x, dtype=np.float32),
        train_ids=np.asarray(train_ids, dtype=np.int64),
        test_ids=np.asarray(test_ids, dtype=np.int64),
        train_reps=np.asarray(train_reps, dtype=np.int64),
        test_reps=np.asarray(test_reps, dtype=np.int64),
        groups=space.groups,
        voxel_xyz=space.voxels.xyz,
        volume_shape=space.voxels.volume_shape,
        affine=space.affine,
        options={**options.to_dict(), "recipe": recipe.to_dict(), "reader_version": READER_VERSION},
        fingerprint="",
    )
    return replace(data, fingerprint=_fingerprint(data))


@dataclass(frozen=True)
class VoxelSpace:
    """The recipe's domain voxels (the data's columns) and each group's column indices."""

    voxels: VoxelIndex
    groups: dict[str, np.ndarray]
    affine: np.ndarray


def voxel_space(root: Path, subject: int, recipe: VoxelRecipe) -> VoxelSpace:
    """Evaluate `recipe` on the subject's ROI volumes, inside its brain mask."""
    brain, affine = load_brainmask(root, subject)
    context = f"subject {subject} ({layout.func_dir(root, subject)})"

    def load_atlas(name: str) -> Atlas:
        return Atlas(load_roi(root, subject, name, brain.shape), load_label_table(root, subject, name))

    domain, group_masks = evaluate(recipe, load_atlas, context)
    domain &= brain
    voxels = VoxelIndex.from_mask(domain)  # C order over (X, Y, Z), as brain-diffuser's mask[mask > 0]
    column_of = np.full(domain.shape, -1, dtype=np.int64)
    column_of[domain] = np.arange(voxels.n_voxels)
    groups = {name: column_of[mask & domain] for name, mask in group_masks.items()}
    for name, columns in groups.items():
        if columns.size == 0:
            raise DataError(f"{context}: voxel group '{name}' has no voxel inside the brain mask")
    return VoxelSpace(voxels=voxels, groups=groups, affine=affine)


def _average_sessions(
    root: Path,
    subject: int,
    trials: SubjectTrials,
    ids: tuple[np.ndarray, np.ndarray],
    voxels: VoxelIndex,
    trials_per_session: int,
    options: PrepareOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum and count of repetitions per image (train ids first, then test ids), streaming over sessions."""
    train_ids, test_ids = ids
    # Row of each trial: train images first, then test images, each sorted by NSD id.
    row = np.where(
        trials.is_test,
        train_ids.size + np.searchsorted(test_ids, trials.nsd_ids),
        np.searchsorted(train_ids, trials.nsd_ids),
    )
    n_rows = train_ids.size + test_ids.size
    sums = np.zeros((n_rows, voxels.n_voxels), dtype=np.float32)
    counts = np.zeros(n_rows, dtype=np.int64)
    for session in tqdm(range(1, trials.n_sessions + 1), desc=f"subj{subject:02d} sessions", leave=False, disable=None):
        in_session = trials.session == session
        betas = read_session(root, subject, session, voxels, trials_per_session, options.betas_format)
        if options.normalisation == "zscore_session":
            betas = _zscore_session(betas, ~trials.is_test[in_session])
        np.add.at(sums, row[in_session], betas)
        np.add.at(counts, row[in_session], 1)
    return sums, counts


def _zscore_session(betas: np.ndarray, is_train: np.ndarray) -> np.ndarray:
    # Statistics from the session's training trials only, so no test response shapes the normalisation;
    # a session without two training trials falls back to all its trials.
    reference = betas[is_train] if is_train.sum() >= 2 else betas
    std = reference.std(axis=0)
    std[std == 0] = 1.0
    return (betas - reference.mean(axis=0)) / std


def _fingerprint(data: SubjectData) -> str:
    digest = hashlib.sha256()
    digest.update(stable_hash({"subject": data.subject, "options": data.options}).encode())
    for array in (data.train_fmri, data.test_fmri, data.train_ids, data.test_ids, data.voxel_xyz):
        digest.update(np.ascontiguousarray(array).tobytes())
    for name in sorted(data.groups):
        digest.update(name.encode() + np.ascontiguousarray(data.groups[name]).tobytes())
    return digest.hexdigest()


def _source_key(root: Path, subject: int, options: PrepareOptions) -> str:
    """Cheap identity of every input file (path, size, mtime) plus the options: the cache key."""
    files = [layout.brainmask(root, subject), layout.expdesign(root)]
    recipe = recipe_of(options)
    for atlas in sorted(atlases_used(recipe.domain).union(*(atlases_used(e) for e in recipe.groups.values()))):
        files += [layout.roi_volume(root, subject, atlas), layout.label_table(root, subject, atlas)]
    for session in range(1, options.sessions + 1):
        files += [p for p in session_files(root, subject, session, options.betas_format) if p is not None]
    identity = []
    for path in files:
        stat = path.stat() if path.exists() else None
        identity.append(
            [str(path.relative_to(root)), stat.st_size if stat else None, stat.st_mtime_ns if stat else None]
        )
    return stable_hash(
        {
            "reader": READER_VERSION,
            "root": str(root.resolve()),
            "subject": subject,
            "options": options.to_dict(),
            "files": identity,
        }
    )

"""Generate a whole SynthNSD dataset into a folder, atomically."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.atomic import atomic_folder
from eval.data import layout
from eval.data.synth import writer
from eval.data.synth.anatomy import build_anatomy
from eval.data.synth.brains import build_tuning, session_betas, voxel_signal
from eval.data.synth.captions import scene_captions
from eval.data.synth.config import SynthConfig
from eval.data.synth.design import Design, build_design, stim_info_table
from eval.data.synth.features import pixel_features, semantic_features
from eval.data.synth.render import render
from eval.data.synth.scenes import sample_scenes
from eval.data.synth.seeding import stream
from eval.errors import DataError

log = logging.getLogger(__name__)


def generate(root: str | os.PathLike[str], config: SynthConfig | None = None) -> Path:
    """Write the SynthNSD dataset of `config` (default preset if None) at `root`, in NSD's layout.

    Everything is built in a temporary sibling folder and renamed into place at the end, so an interrupted run
    never leaves a partial dataset at `root`.

    Args:
        root: Target folder; must not exist or be empty.
        config: What to generate.

    Returns:
        `root` as a Path.

    Raises:
        DataError: `root` is a file or a non-empty folder (the caller decides whether to reuse or delete it).
    """
    root = Path(root)
    config = config or SynthConfig()
    _check_target(root)
    start = time.perf_counter()
    with atomic_folder(root) as tmp:
        _build(tmp, config)
        _check_target(root)  # another process may have filled it meanwhile
    log.info("SynthNSD %s written to %s in %.1f s", config.key(), root, time.perf_counter() - start)
    return root


def _check_target(root: Path) -> None:
    if root.is_dir() and any(root.iterdir()):
        raise DataError(f"SynthNSD target {root} exists and is not empty; remove it or choose another folder")
    if root.exists() and not root.is_dir():
        raise DataError(f"SynthNSD target {root} exists and is not a folder")


def _standardise(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    sd = x.std(axis=axes, keepdims=True)
    return ((x - x.mean(axis=axes, keepdims=True)) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def _build(tmp: Path, config: SynthConfig) -> None:
    size = config.image_size
    scenes = sample_scenes(config.seed, config.n_images, config.max_objects)
    images = np.empty((config.n_images, size, size, 3), dtype=np.uint8)
    for k, scene in enumerate(tqdm(scenes, desc="SynthNSD images", unit="img", disable=None, leave=False)):
        images[k] = render(scene, size)
    writer.write_stimuli(tmp, images)
    log.info("rendered %d images of %d px", config.n_images, size)

    design = build_design(config)
    table = stim_info_table(config, design)
    writer.write_expdesign(tmp, design)
    writer.write_stim_info(tmp, table)
    writer.write_captions(tmp, table, [scene_captions(config.seed, s) for s in scenes], size)

    pixel = _standardise(pixel_features(images, config.feature_grid), (0, 2))
    semantic = _standardise(semantic_features(scenes), (0,))
    del images
    summary: dict[str, Any] = {
        "n_images": config.n_images,
        "n_trials": design.n_trials,
        "trials_per_session": design.trials_per_session,
        "subjects": {},
    }
    bar = tqdm(total=len(config.subjects) * layout.DESIGN_SESSIONS, desc="SynthNSD betas", unit="session", disable=None)
    with bar, ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthnsd-nifti") as pool:
        for subject in config.subjects:
            summary["subjects"][str(subject)] = _build_subject(tmp, config, design, pixel, semantic, subject, pool, bar)
    writer.write_truth_common(tmp, config, scenes, summary)


def _build_subject(
    tmp: Path,
    config: SynthConfig,
    design: Design,
    pixel: np.ndarray,
    semantic: np.ndarray,
    subject: int,
    pool: ThreadPoolExecutor,
    bar: tqdm,
) -> dict[str, Any]:
    anatomy = build_anatomy(config, subject)
    tuning = build_tuning(config, anatomy)
    writer.write_anatomy(tmp, anatomy)
    ids = design.subjectim[subject - 1] - 1  # the subject's images, each once
    signal = voxel_signal(tuning, pixel[ids], semantic[ids], config.feature_grid)
    row_of = np.full(config.n_images, -1, dtype=np.int64)
    row_of[ids] = np.arange(ids.size)
    trial_rows = row_of[design.nsd_ids(subject)]
    pending: Future[None] | None = None
    # The gzip of session k's NIfTI (zlib releases the GIL) overlaps the simulation of session k + 1.
    for session in range(1, layout.DESIGN_SESSIONS + 1):
        rows = trial_rows[design.session_slice(session)]
        betas = session_betas(tuning, signal[rows], session, stream(config.seed, "noise", subject, session))
        volume = writer.session_volume(anatomy, betas)
        writer.write_betas_hdf5(tmp, subject, session, volume)
        if pending is not None:
            pending.result()
        pending = pool.submit(writer.write_betas_nifti, tmp, subject, session, volume, anatomy.affine)
        bar.update(1)
    if pending is not None:
        pending.result()
    writer.write_truth_subject(tmp, anatomy, tuning)
    nsdgeneral = anatomy.labels["nsdgeneral"] > 0
    counts = {
        "volume_shape": list(anatomy.shape),
        "brain": anatomy.n_brain,
        "nsdgeneral": int(nsdgeneral.sum()),
        "structural": int((tuning.kind == 1).sum()),
        "semantic_in_nsdgeneral": int(((tuning.kind == 2) & nsdgeneral).sum()),
        "semantic_outside_nsdgeneral": int(((tuning.kind == 2) & ~nsdgeneral).sum()),
        "no_signal_in_nsdgeneral": int(((tuning.kind == 0) & nsdgeneral).sum()),
    }
    log.info("subject %d: %s", subject, counts)
    return counts

"""The simulated brains carry what the ground truth says: pixels in structural voxels, semantics in semantic ones."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
import scipy.io

from eval.data import layout
from eval.data.synth import SynthConfig, truth_dir, truth_subject
from eval.data.synth.scenes import CATEGORIES


def _roi(root: Path, subject: int, atlas: str) -> np.ndarray:
    return np.asarray(nib.load(layout.roi_volume(root, subject, atlas)).dataobj)


@pytest.fixture(scope="module")
def averaged(ci_root: Path) -> dict[str, np.ndarray]:
    """Subject 1's nsdgeneral betas averaged over repetitions, read straight from the NSD-layout files."""
    subject = 1
    mat = scipy.io.loadmat(layout.expdesign(ci_root))
    mo = mat["masterordering"].ravel().astype(int)
    ids = mat["subjectim"].astype(int)[subject - 1, mo - 1] - 1
    general = _roi(ci_root, subject, "nsdgeneral") > 0
    structural = general & ((_roi(ci_root, subject, "prf-visualrois") > 0) | (_roi(ci_root, subject, "streams") == 1))
    flat = np.flatnonzero(general.T.ravel())  # HDF5 (T, Z, Y, X) flattened per trial
    sessions = []
    for session in range(1, layout.DESIGN_SESSIONS + 1):
        with h5py.File(layout.betas_hdf5(ci_root, subject, session), "r") as f:
            b = f["betas"][()]
        sessions.append(b.reshape(b.shape[0], -1)[:, flat].astype(np.float32) / layout.BETA_SCALE)
    betas = np.concatenate(sessions)
    images = np.unique(ids)
    avg = np.stack([betas[ids == i].mean(axis=0) for i in images])
    with h5py.File(layout.stimuli(ci_root), "r") as f:
        pixels = f["imgBrick"][()][images].astype(np.float32).mean(axis=-1)
    n, size = pixels.shape[0], pixels.shape[1]
    pixels = pixels.reshape(n, 8, size // 8, 8, size // 8).mean(axis=(2, 4)).reshape(n, -1)
    scenes = json.loads((truth_dir(ci_root) / "scenes.json").read_text())
    categories = np.array([[any(o["category"] == c for o in scenes[i]["objects"]) for c in CATEGORIES] for i in images])
    return {
        "betas": avg,
        "structural": structural.T.ravel()[flat],
        "test": np.isin(images, mat["sharedix"].ravel().astype(int) - 1),
        "pixels": pixels,
        "categories": categories.astype(np.float32),
        "raw_sd": np.array(betas.std()),
    }


def _ridge_score(x: np.ndarray, y: np.ndarray, test: np.ndarray, alpha: float) -> float:
    """Mean test correlation over targets of a ridge map fitted on the training images."""
    train = ~test
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
    x = (x - mu) / sd
    ym = y[train].mean(0)
    w = np.linalg.solve(x[train].T @ x[train] + alpha * np.eye(x.shape[1]), x[train].T @ (y[train] - ym))
    pred = x[test] @ w + ym
    r = [np.corrcoef(pred[:, j], y[test][:, j])[0, 1] for j in range(y.shape[1]) if y[test][:, j].std() > 0]
    return float(np.mean(r))


def _best(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> float:
    return max(_ridge_score(x, y, test, alpha) for alpha in (1e2, 1e3, 1e4))


def test_structural_voxels_carry_pixels_semantic_voxels_carry_categories(averaged: dict[str, np.ndarray]) -> None:
    x, s, test = averaged["betas"], averaged["structural"], averaged["test"]
    pixels_struct, pixels_sem = _best(x[:, s], averaged["pixels"], test), _best(x[:, ~s], averaged["pixels"], test)
    cats_struct, cats_sem = _best(x[:, s], averaged["categories"], test), _best(x[:, ~s], averaged["categories"], test)
    assert pixels_struct > pixels_sem + 0.15
    assert cats_sem > cats_struct + 0.3
    assert cats_struct < 0.35  # structural voxels see pixels only: categories barely leak


def test_betas_have_realistic_magnitude(averaged: dict[str, np.ndarray]) -> None:
    assert 0.5 < float(averaged["raw_sd"]) < 10  # percent signal change


def test_truth_tuning(ci_root: Path, ci_config: SynthConfig) -> None:
    truth = np.load(truth_subject(ci_root, 1))
    kinds = list(truth["kind_names"])
    structural = truth["kind"] == kinds.index("structural")
    semantic = truth["kind"] == kinds.index("semantic")
    assert structural.sum() > 50 and semantic.sum() > 100
    assert not truth["semantic_weights"][structural].any() and not truth["channel_weights"][semantic].any()
    assert np.isnan(truth["prf_x"][~structural]).all() and np.isfinite(truth["prf_x"][structural]).all()
    area = truth["prf_area"]
    names = list(truth["area_names"])
    assert truth["prf_sigma"][area == names.index("V1")].mean() < truth["prf_sigma"][area == names.index("hV4")].mean()
    signal = truth["kind"] > 0
    lo, hi = ci_config.snr_range
    assert (truth["snr"][signal] >= lo - 1e-6).all() and (truth["snr"][signal] <= hi + 1e-6).all()
    assert (truth["amplitude"][~signal] == 0).all()
    # Retinotopy is smooth: adjacent V1 voxels have closer pRF centres than random V1 pairs.
    ijk = truth["ijk"].astype(int)
    v1 = np.flatnonzero(area == names.index("V1"))
    centres = np.stack([truth["prf_x"][v1], truth["prf_y"][v1]], axis=1)
    d_vox = np.abs(ijk[v1][:, None, :] - ijk[v1][None, :, :]).sum(-1)
    d_prf = np.linalg.norm(centres[:, None] - centres[None, :], axis=-1)
    assert d_prf[d_vox == 1].mean() < 0.6 * d_prf[d_vox > 0].mean()

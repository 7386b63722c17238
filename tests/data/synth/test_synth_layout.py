"""SynthNSD writes exactly NSD's layout: paths, dtypes, axis orders, -1 outside the brain, label tables."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.io

from eval.data import layout
from eval.data.synth import SynthConfig

# From the spec (shared/specs/nsd.md), written out here so a typo in the generator's tables is caught.
EXPECTED_LABELS = {
    "nsdgeneral": ["nsdgeneral"],
    "prf-visualrois": ["V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"],
    "streams": ["early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"],
    "floc-faces": ["OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"],
    "floc-bodies": ["EBA", "FBA-1", "FBA-2", "mTL-bodies"],
    "floc-places": ["OPA", "PPA", "RSC"],
    "floc-words": ["OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"],
}
STIM_COLUMNS = (
    ["Unnamed: 0", "cocoId", "cocoSplit", "cropBox", "loss", "nsdId", "flagged", "BOLD5000", "shared1000"]
    + [f"subject{s}" for s in range(1, 9)]
    + [f"subject{s}_rep{r}" for s in range(1, 9) for r in range(3)]
)


def _data(path: Path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj)


def test_every_file_exists(ci_root: Path, ci_config: SynthConfig) -> None:
    paths = [layout.expdesign(ci_root), layout.stim_info(ci_root), layout.stimuli(ci_root)]
    paths += [layout.coco_captions(ci_root, split) for split in ("train2017", "val2017")]
    for s in ci_config.subjects:
        paths.append(layout.brainmask(ci_root, s))
        for atlas in layout.ROI_ATLASES:
            paths += [layout.roi_volume(ci_root, s, atlas), layout.label_table(ci_root, s, atlas)]
        for session in range(1, layout.DESIGN_SESSIONS + 1):
            paths += [layout.betas_nifti(ci_root, s, session), layout.betas_hdf5(ci_root, s, session)]
    missing = [str(p.relative_to(ci_root)) for p in paths if not p.is_file()]
    assert not missing
    assert not (ci_root / "nsddata_betas" / "ppdata" / "subj03").exists()


def test_betas_dtypes_and_axis_orders(ci_root: Path, ci_config: SynthConfig) -> None:
    subject, session = 2, 7
    img = nib.load(layout.betas_nifti(ci_root, subject, session))
    nii = np.asarray(img.dataobj)
    assert nii.dtype == np.int16
    assert img.header.get_data_dtype() == np.int16
    slope, inter = img.header.get_slope_inter()
    assert slope in (None, 1.0) and inter in (None, 0.0)
    assert nii.shape[3] == ci_config.trials_per_session
    assert np.allclose(img.header.get_zooms()[:3], 1.8)
    with h5py.File(layout.betas_hdf5(ci_root, subject, session), "r") as f:
        dset = f["betas"]
        assert dset.dtype == np.int16
        assert dset.shape == nii.shape[::-1]
        assert dset.chunks == (1, *nii.shape[2::-1])
        h5 = dset[()]
    np.testing.assert_array_equal(h5, nii.transpose(3, 2, 1, 0))
    assert np.abs(nii / layout.BETA_SCALE).std() < 20  # a few percent signal change, not raw counts


def test_outside_brain_is_minus_one_in_rois_and_zero_in_betas(ci_root: Path, ci_config: SynthConfig) -> None:
    for s in ci_config.subjects:
        mask = _data(layout.brainmask(ci_root, s))
        assert set(np.unique(mask)) == {0, 1}
        brain = mask > 0
        for atlas in layout.ROI_ATLASES:
            roi = _data(layout.roi_volume(ci_root, s, atlas))
            assert roi.shape == mask.shape and np.issubdtype(roi.dtype, np.integer)
            assert (roi[~brain] == -1).all(), atlas
            assert (roi[brain] >= 0).all(), atlas
        betas = _data(layout.betas_nifti(ci_root, s, 1))
        assert (betas[~brain] == 0).all()
        assert (betas[brain] != 0).all()


def test_label_tables_parse_and_cover_the_volumes(ci_root: Path, ci_config: SynthConfig) -> None:
    for s in ci_config.subjects:
        for atlas, names in EXPECTED_LABELS.items():
            lines = layout.label_table(ci_root, s, atlas).read_text().splitlines()
            assert lines[0] == "0 Unknown"
            table = {int(k): v for k, v in (line.split(maxsplit=1) for line in lines)}
            assert [table[k] for k in range(1, len(names) + 1)] == names
            assert len(table) == len(names) + 1
            present = set(np.unique(_data(layout.roi_volume(ci_root, s, atlas)))) - {-1, 0}
            assert present <= set(table), (s, atlas)


def test_subject7_lacks_floc_labels_others_have_them(ci_root: Path) -> None:
    for atlas in ("floc-faces", "floc-words"):
        assert 5 not in _data(layout.roi_volume(ci_root, 7, atlas))
        assert 5 in _data(layout.roi_volume(ci_root, 1, atlas))
    for s in (1, 2, 5):
        for atlas, names in EXPECTED_LABELS.items():
            labels = set(np.unique(_data(layout.roi_volume(ci_root, s, atlas))))
            assert set(range(1, len(names) + 1)) <= labels, (s, atlas)


def test_subjects_have_their_own_geometry(ci_root: Path, ci_config: SynthConfig) -> None:
    shapes = {s: _data(layout.brainmask(ci_root, s)).shape for s in ci_config.subjects}
    assert len(set(shapes.values())) == len(shapes)
    v1 = [np.argwhere(_data(layout.roi_volume(ci_root, s, "prf-visualrois")) == 1).mean(0) for s in (1, 2)]
    assert not np.allclose(v1[0], v1[1])


def test_roi_anatomy_is_plausible(ci_root: Path) -> None:
    brain = _data(layout.brainmask(ci_root, 1)) > 0
    prf = _data(layout.roi_volume(ci_root, 1, "prf-visualrois"))
    streams = _data(layout.roi_volume(ci_root, 1, "streams"))
    general = _data(layout.roi_volume(ci_root, 1, "nsdgeneral"))
    centre_y = np.argwhere(brain)[:, 1].mean()
    assert np.argwhere(prf == 1)[:, 1].mean() < centre_y  # V1 at the posterior end (low Y)
    early = (prf >= 1) & (prf <= 6)
    assert ((streams == 1) == early).all()  # streams early covers V1-V3
    assert (general[(streams >= 1) & (streams <= 6)] == 1).all()
    assert (general[streams == 7] == 1).any() and (general[streams == 7] == 0).any()  # parts of parietal


def test_design_file(ci_root: Path, ci_config: SynthConfig) -> None:
    mat = scipy.io.loadmat(layout.expdesign(ci_root))
    mo, subjectim, sharedix = mat["masterordering"], mat["subjectim"], mat["sharedix"]
    assert mo.shape == (1, ci_config.n_trials) and mo.dtype == np.float64
    assert subjectim.shape == (8, ci_config.n_shared + ci_config.n_train) and subjectim.dtype == np.float64
    assert sharedix.shape == (1, ci_config.n_shared)
    assert mo.min() == 1 and mo.max() == subjectim.shape[1]
    assert subjectim.min() == 1 and subjectim.max() <= ci_config.n_images
    assert mo.shape[1] / layout.DESIGN_SESSIONS == ci_config.trials_per_session


def test_stim_info_and_stimuli(ci_root: Path, ci_config: SynthConfig) -> None:
    table = pd.read_csv(layout.stim_info(ci_root))
    assert list(table.columns) == STIM_COLUMNS
    assert (table["nsdId"] == np.arange(ci_config.n_images)).all()
    assert table["shared1000"].dtype == bool and table["shared1000"].sum() == ci_config.n_shared
    assert set(table["cocoSplit"]) == {"train2017", "val2017"}
    assert table["cocoId"].is_unique
    assert all(re.fullmatch(r"\((0|0\.\d+), (0|0\.\d+), (0|0\.\d+), (0|0\.\d+)\)", box) for box in table["cropBox"])
    with h5py.File(layout.stimuli(ci_root), "r") as f:
        bricks = f["imgBrick"]
        size = ci_config.image_size
        assert bricks.dtype == np.uint8 and bricks.shape == (ci_config.n_images, size, size, 3)
        assert bricks.chunks == (1, size, size, 3)
        first = bricks[0]
    assert first.std() > 5  # a scene, not a blank


@pytest.mark.parametrize("subject", [1, 7])
def test_truth_matches_roi_recipe(ci_root: Path, subject: int) -> None:
    from eval.data.synth import truth_subject

    truth = np.load(truth_subject(ci_root, subject))
    brain = _data(layout.brainmask(ci_root, subject)) > 0
    i, j, k = truth["ijk"].T
    assert brain[i, j, k].all() and len(i) == brain.sum()
    general = _data(layout.roi_volume(ci_root, subject, "nsdgeneral"))[i, j, k] > 0
    prf = _data(layout.roi_volume(ci_root, subject, "prf-visualrois"))[i, j, k]
    streams = _data(layout.roi_volume(ci_root, subject, "streams"))[i, j, k]
    structural = general & ((prf > 0) | (streams == 1))
    kinds = list(truth["kind_names"])
    assert ((truth["kind"] == kinds.index("structural")) == structural).all()
    assert (truth["kind"][general & ~structural] != kinds.index("structural")).all()

"""Write SynthNSD's files in NSD's layout (paths from eval.data.layout), plus the simulation's ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import scipy.io

from eval.data import layout
from eval.data.synth.anatomy import Anatomy, label_table_text
from eval.data.synth.brains import AREA_NAMES, KIND_NAMES, Tuning
from eval.data.synth.config import FORMAT_VERSION, SynthConfig
from eval.data.synth.design import Design
from eval.data.synth.features import CHANNELS, SEMANTIC_FEATURES
from eval.data.synth.scenes import Scene

TRUTH_FOLDER = "synthnsd_truth"


def truth_dir(root: Path) -> Path:
    """Folder of the simulation's ground truth, outside NSD's own paths."""
    return Path(root) / TRUTH_FOLDER


def truth_subject(root: Path, subject: int) -> Path:
    return truth_dir(root) / f"{layout.subject_tag(subject)}.npz"


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_expdesign(root: Path, design: Design) -> None:
    """nsd_expdesign.mat (MATLAB v5), every array float64 and 1-based as in NSD."""
    arrays = {
        "masterordering": design.masterordering[None, :].astype(np.float64),
        "subjectim": design.subjectim.astype(np.float64),
        "sharedix": design.sharedix[None, :].astype(np.float64),
    }
    scipy.io.savemat(_parent(layout.expdesign(root)), arrays, format="5", do_compression=False)


def write_stim_info(root: Path, table: pd.DataFrame) -> None:
    """nsd_stim_info_merged.csv with pandas' unnamed leading index column."""
    table.to_csv(_parent(layout.stim_info(root)), index=True)


def write_stimuli(root: Path, images: np.ndarray) -> None:
    """nsd_stimuli.hdf5: dataset imgBrick, uint8 (n, S, S, 3), one image per chunk."""
    with h5py.File(_parent(layout.stimuli(root)), "w") as f:
        f.create_dataset("imgBrick", data=images, chunks=(1, *images.shape[1:]))


def write_captions(root: Path, table: pd.DataFrame, captions: list[list[str]], image_size: int) -> None:
    """COCO-format caption files, one per cocoSplit, holding the images of that split."""
    next_id = 1
    splits = table["cocoSplit"].to_numpy()
    coco_ids, nsd_ids = table["cocoId"].to_numpy(), table["nsdId"].to_numpy()
    for split in sorted(set(splits)):
        images, annotations = [], []
        for row in np.flatnonzero(splits == split):
            coco_id = int(coco_ids[row])
            name = f"{coco_id:012d}.jpg"
            images.append({"id": coco_id, "file_name": name, "height": image_size, "width": image_size})
            for text in captions[int(nsd_ids[row])]:
                annotations.append({"id": next_id, "image_id": coco_id, "caption": text})
                next_id += 1
        doc = {
            "info": {"description": f"SynthNSD template captions ({split})", "version": str(FORMAT_VERSION)},
            "licenses": [],
            "images": images,
            "annotations": annotations,
        }
        _parent(layout.coco_captions(root, split)).write_text(json.dumps(doc), encoding="utf-8")


def _nifti(data: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    img = nib.Nifti1Image(data, affine)
    img.header.set_data_dtype(data.dtype)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def write_anatomy(root: Path, anatomy: Anatomy) -> None:
    """Brain mask, the seven ROI volumes (-1 outside the brain) and their label tables."""
    s = anatomy.subject
    nib.save(_nifti(anatomy.mask().astype(np.int16), anatomy.affine), _parent(layout.brainmask(root, s)))
    for atlas in layout.ROI_ATLASES:
        nib.save(_nifti(anatomy.roi_volume(atlas), anatomy.affine), _parent(layout.roi_volume(root, s, atlas)))
        _parent(layout.label_table(root, s, atlas)).write_text(label_table_text(atlas), encoding="utf-8")


def session_volume(anatomy: Anatomy, betas: np.ndarray) -> np.ndarray:
    """(X, Y, Z, T) int16 volume in Fortran order (0 outside the brain) from (T, n_brain) betas.

    Its transpose is the C-ordered (T, Z, Y, X) array of the HDF5 file, so both files come from one buffer.
    """
    t = betas.shape[0]
    vol = np.zeros((*anatomy.shape, t), dtype=np.int16, order="F")
    vol.T.reshape(t, -1)[:, anatomy.flat_index] = betas
    return vol


def write_betas_hdf5(root: Path, subject: int, session: int, volume: np.ndarray) -> None:
    """betas_sessionNN.hdf5: dataset betas, (T, Z, Y, X), one trial per chunk."""
    data = volume.T  # C-contiguous (T, Z, Y, X)
    path = _parent(layout.betas_hdf5(root, subject, session))
    with h5py.File(path, "w") as f:
        f.create_dataset("betas", data=data, chunks=(1, *data.shape[1:]))


def write_betas_nifti(root: Path, subject: int, session: int, volume: np.ndarray, affine: np.ndarray) -> None:
    """betas_sessionNN.nii.gz: (X, Y, Z, T) int16, no scaling (nibabel's gzip level 1)."""
    nib.save(_nifti(volume, affine), _parent(layout.betas_nifti(root, subject, session)))


def write_truth_subject(root: Path, anatomy: Anatomy, tuning: Tuning) -> None:
    """Per-voxel ground truth of one subject (voxels in the order of `Anatomy`)."""
    arrays: dict[str, Any] = {
        "ijk": anatomy.ijk.astype(np.int16),
        "theta": anatomy.theta,
        "phi": anatomy.phi,
        **{f"roi_{atlas}": anatomy.labels[atlas] for atlas in layout.ROI_ATLASES},
        **tuning.arrays(),
        "snr": np.where(tuning.noise_sd > 0, tuning.amplitude / tuning.noise_sd, 0).astype(np.float32),
        "kind_names": np.asarray(KIND_NAMES),
        "area_names": np.asarray(AREA_NAMES),
        "channel_names": np.asarray(CHANNELS),
        "semantic_feature_names": np.asarray(SEMANTIC_FEATURES),
        "volume_shape": np.asarray(anatomy.shape),
    }
    np.savez(_parent(truth_subject(root, anatomy.subject)), **arrays)


def write_truth_common(root: Path, config: SynthConfig, scenes: list[Scene], summary: dict[str, Any]) -> None:
    """config.json, scenes.json and README.md of the truth folder."""
    folder = truth_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format_version": FORMAT_VERSION, "key": config.key(), "config": config.to_dict(), "summary": summary}
    (folder / "config.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (folder / "scenes.json").write_text(json.dumps([s.to_dict() for s in scenes]), encoding="utf-8")
    (folder / "README.md").write_text(_TRUTH_README, encoding="utf-8")


_TRUTH_README = """\
# SynthNSD ground truth

Everything here is outside NSD's own layout: a reader of real NSD never looks at it.

- `config.json`: `format_version`, `key` (the cache key of the config), `config` (every SynthConfig field;
  `SynthConfig.from_dict` reads it back) and `summary` (images, trials per session, voxel counts per subject).
- `scenes.json`: one scene graph per nsdId (list index = nsdId): background (kind, colours, horizon,
  texture), objects in draw order (later ones occlude earlier ones; category, colour, centre x, y as
  fractions of the image with y down, size) and relations `[subject, predicate, object]` between objects.
- `subjXX.npz`: one row per brain voxel, in the order of the flattened HDF5 betas (Z, Y, X) restricted to
  the brain mask. `ijk` indexes the NIfTI (X, Y, Z) volume. `kind` indexes `kind_names`
  (none / structural / semantic): structural voxels carry a pRF (`prf_x`, `prf_y`, `prf_sigma` as
  fractions of the image, `prf_area` indexing `area_names`) over the pixel channels `channel_names`
  weighted by `channel_weights`; semantic voxels weight the scene features `semantic_feature_names` by
  `semantic_weights`; none voxels carry noise only. `amplitude` (signal sd), `noise_sd`, `baseline`,
  `session_offset` (40, n) are in percent signal change; `session_scale` (40,) is each session's gain;
  `snr` = amplitude / noise_sd per single trial. A share `shared_noise_fraction` of each voxel's noise
  variance comes from trial-wise factors common to all voxels, with smooth spatial `noise_loadings`
  (factors x voxels, unit norm per voxel); the rest is independent per voxel and trial. `roi_<atlas>`
  repeats the ROI labels per voxel, and `theta`, `phi` give each voxel's position relative to the
  occipital pole (degrees).

Stored betas = round(300 x (baseline + session_offset + session_scale x (signal + noise))); inside the
brain a stored 0 becomes 1, so that 0 marks outside-brain voxels only.
"""

"""Importing brain-diffuser's preprocessed arrays gives the same prepared subject as reading NSD directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.data import layout
from eval.data.braindiffuser import first_presentation_order, import_braindiffuser
from eval.data.design import load_design, subject_trials
from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.errors import DataError


def _export(root: Path, folder: Path, subject: int, shuffle_test: bool = False) -> None:
    """Write files the way brain-diffuser's preparation does: raw values, rows in first-presentation order."""
    data = build_subject(root, subject, PrepareOptions(normalisation="none"))
    trials = subject_trials(load_design(root), subject, 37)
    stimuli = Stimuli(root)
    for split, ids, fmri, wanted in (
        ("train", data.train_ids, data.train_fmri, ~trials.is_test),
        ("test", data.test_ids, data.test_fmri, trials.is_test),
    ):
        order = first_presentation_order(trials.nsd_ids[wanted])
        if split == "test" and shuffle_test:
            order = order[::-1]
        rows = np.searchsorted(ids, order)
        np.save(folder / f"nsd_{split}_fmriavg_nsdgeneral_sub{subject}.npy", fmri[rows] * layout.BETA_SCALE)
        np.save(folder / f"nsd_{split}_stim_sub{subject}.npy", stimuli.images(order[:3]).astype(np.float64))


@pytest.mark.parametrize("normalisation", ["none", "zscore_train"])
def test_import_equals_direct_preparation(synth_root: Path, tmp_path: Path, normalisation: str) -> None:
    _export(synth_root, tmp_path, 2)
    options = PrepareOptions(normalisation=normalisation)
    imported = import_braindiffuser(tmp_path, 2, synth_root, options)
    direct = build_subject(synth_root, 2, options)
    np.testing.assert_array_equal(imported.test_ids, direct.test_ids)
    np.testing.assert_array_equal(imported.train_reps, direct.train_reps)
    np.testing.assert_allclose(imported.train_fmri, direct.train_fmri, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(imported.test_fmri, direct.test_fmri, rtol=1e-4, atol=1e-4)
    assert {k: v.size for k, v in imported.groups.items()} == {k: v.size for k, v in direct.groups.items()}


def test_rows_in_another_order_are_detected(synth_root: Path, tmp_path: Path) -> None:
    _export(synth_root, tmp_path, 2, shuffle_test=True)
    with pytest.raises(DataError, match=r"nsd_test_stim_sub2\.npy: its first image is not NSD image"):
        import_braindiffuser(tmp_path, 2, synth_root, PrepareOptions())


def test_wrong_voxel_count_is_refused(synth_root: Path, tmp_path: Path) -> None:
    _export(synth_root, tmp_path, 2)
    path = tmp_path / "nsd_train_fmriavg_nsdgeneral_sub2.npy"
    np.save(path, np.load(path)[:, :-1])
    with pytest.raises(DataError, match=r"nsd_train_fmriavg_nsdgeneral_sub2\.npy: expected shape"):
        import_braindiffuser(tmp_path, 2, synth_root, PrepareOptions())


def test_run_scores_a_decoder_on_imported_files(synth_root: Path, tmp_path: Path) -> None:
    import json

    from eval.run import main

    folder = tmp_path / "bd"
    folder.mkdir()
    _export(synth_root, folder, 2)
    out = tmp_path / "out"
    args = ["--decoder", "mean_image", "--subject", "2", "--out", str(out), "--braindiffuser-dir", str(folder)]
    assert main([*args, "--nsd-root", str(synth_root)]) == 0
    (path,) = (out / "results").glob("*.json")
    assert "brain-diffuser files" in json.loads(path.read_text())["dataset"]["label"]
    assert main(args) == 2  # without --nsd-root the rows cannot be named

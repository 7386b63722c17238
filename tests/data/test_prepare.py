"""Prepared subjects: the shared-image split, repetition averaging, normalisation, fingerprint and cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.cache import Cache
from eval.data import prepare
from eval.data.design import load_design, subject_trials
from eval.data.prepare import build_subject, load_subject
from eval.data.subject import PrepareOptions
from eval.errors import ConfigError


@pytest.fixture(scope="module")
def subjects(synth_root: Path) -> dict:
    return {s: build_subject(synth_root, s, PrepareOptions()) for s in (1, 2, 5, 7)}


def test_test_ids_are_identical_across_subjects(subjects: dict) -> None:
    reference = subjects[1].test_ids
    assert reference.size > 0
    for data in subjects.values():
        np.testing.assert_array_equal(data.test_ids, reference)
        assert np.all(np.diff(data.test_ids) > 0)  # aligned by NSD id, ascending


def test_train_and_test_images_are_disjoint_and_train_sets_differ(subjects: dict) -> None:
    for data in subjects.values():
        assert np.intersect1d(data.train_ids, data.test_ids).size == 0
    assert np.intersect1d(subjects[1].train_ids, subjects[2].train_ids).size == 0


def test_37_sessions_leave_some_test_images_with_fewer_than_3_repetitions(synth_root: Path, subjects: dict) -> None:
    design = load_design(synth_root)
    reps = subjects[1].test_reps
    assert set(np.unique(reps)) <= {1, 2, 3}
    assert (reps < 3).any() and (reps == 3).any()
    assert subjects[1].test_ids.size < design.n_shared  # some shared images only appear after session 37
    trials = subject_trials(design, 1, 37)
    assert reps.sum() == trials.is_test.sum()


def test_40_sessions_give_every_shared_image_three_times(synth_root: Path) -> None:
    design = load_design(synth_root)
    data = build_subject(synth_root, 1, PrepareOptions(sessions=40))
    assert data.test_ids.size == design.n_shared
    np.testing.assert_array_equal(np.sort(data.test_ids), np.sort(design.sharedix))
    assert (data.test_reps == 3).all()


def test_averaging_matches_a_direct_computation(synth_root: Path) -> None:
    """Recompute one test image's average from the raw trials of the betas files."""
    from eval.data.betas import read_session
    from eval.data.prepare import recipe_of, voxel_space

    options = PrepareOptions(normalisation="none")
    data = build_subject(synth_root, 5, options)
    design = load_design(synth_root)
    trials = subject_trials(design, 5, 37)
    target = data.test_ids[np.argmin(data.test_reps)]  # an image with fewer repetitions
    voxels = voxel_space(synth_root, 5, recipe_of(options)).voxels
    rows = []
    for t in np.flatnonzero(trials.nsd_ids == target):
        session = int(trials.session[t])
        betas = read_session(synth_root, 5, session, voxels, design.trials_per_session)
        rows.append(betas[t - (session - 1) * design.trials_per_session])
    row = int(np.flatnonzero(data.test_ids == target)[0])
    np.testing.assert_allclose(data.test_fmri[row], np.mean(rows, axis=0), rtol=1e-5, atol=1e-6)
    assert data.test_reps[row] == len(rows)


def test_zscore_train_standardises_with_training_statistics(subjects: dict) -> None:
    train = subjects[1].train_fmri
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-3)
    assert abs(float(subjects[1].test_fmri.mean())) < 0.5  # test uses train statistics, so not exactly 0


def test_normalisation_is_recorded_and_changes_the_data(synth_root: Path, subjects: dict) -> None:
    session_z = build_subject(synth_root, 1, PrepareOptions(normalisation="zscore_session"))
    assert session_z.options["normalisation"] == "zscore_session"
    assert subjects[1].options["normalisation"] == "zscore_train"
    assert session_z.fingerprint != subjects[1].fingerprint
    assert not np.allclose(session_z.train_fmri, subjects[1].train_fmri)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"normalisation": "zscore"}, r"--normalisation: expected one of .* found 'zscore'"),
        ({"sessions": 45}, r"--sessions: expected 1\.\.40, found 45"),
        ({"betas_format": "nii"}, r"--betas-format: expected one of .* found 'nii'"),
    ],
)
def test_bad_options_are_refused_before_any_file_is_read(option: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrepareOptions(**option)


def test_fingerprint_is_deterministic(synth_root: Path, subjects: dict) -> None:
    again = build_subject(synth_root, 1, PrepareOptions())
    assert again.fingerprint == subjects[1].fingerprint and len(again.fingerprint) == 64


def test_second_load_comes_from_the_cache(synth_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_subject(synth_root, 2, PrepareOptions(), cache=Cache(tmp_path))

    def must_not_rebuild(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(prepare, "build_subject", must_not_rebuild)
    second = load_subject(synth_root, 2, PrepareOptions(), cache=Cache(tmp_path))
    assert second.fingerprint == first.fingerprint
    np.testing.assert_array_equal(second.train_fmri, first.train_fmri)
    assert list(second.groups) == ["structural", "semantic", "nsdgeneral"]
    np.testing.assert_array_equal(second.group("nsdgeneral"), np.arange(second.n_voxels))
    with pytest.raises(AssertionError, match="cache was not used"):
        load_subject(synth_root, 2, PrepareOptions(normalisation="none"), cache=Cache(tmp_path))


def test_captions_and_images_are_aligned_by_nsd_id(synth_root: Path, subjects: dict) -> None:
    import json

    from eval.data.stimuli import Stimuli
    from eval.data.synth import truth_dir

    stimuli = Stimuli(synth_root)
    ids = subjects[1].test_ids[:20]
    captions = stimuli.captions(ids)
    assert all(len(c) == 5 for c in captions)
    scenes = json.loads((truth_dir(synth_root) / "scenes.json").read_text())
    for nsd_id, five in zip(ids, captions):
        categories = {o["category"] for o in scenes[nsd_id]["objects"]}
        assert any(c in " ".join(five) for c in categories)  # the captions describe this very scene
    reversed_images = stimuli.images(ids[::-1])
    np.testing.assert_array_equal(reversed_images[::-1], stimuli.images(ids))

"""The reader's shared-image rule on the default SynthNSD design: NSD's 982 / 1000 test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.data.design import load_design, subject_trials
from eval.data.synth import SynthConfig
from eval.data.synth.design import build_design
from eval.data.synth.writer import write_expdesign
from eval.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def default_design_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSD root holding only the default preset's nsd_expdesign.mat (no betas needed for the split)."""
    root = tmp_path_factory.mktemp("design")
    write_expdesign(root, build_design(SynthConfig.preset("default")))
    return root


def _test_images(root: Path, subject: int, sessions: int) -> tuple[np.ndarray, np.ndarray]:
    trials = subject_trials(load_design(root), subject, sessions)
    return np.unique(trials.nsd_ids[trials.is_test], return_counts=True)


def test_37_sessions_give_982_test_images_some_with_fewer_than_3_repetitions(default_design_root: Path) -> None:
    ids, reps = _test_images(default_design_root, 1, 37)
    assert ids.size == 982
    assert reps.sum() == 2770
    assert (reps < 3).any() and reps.max() == 3


def test_40_sessions_give_1000_test_images(default_design_root: Path) -> None:
    ids, reps = _test_images(default_design_root, 5, 40)
    assert ids.size == 1000 and (reps == 3).all()
    np.testing.assert_array_equal(ids, np.sort(load_design(default_design_root).sharedix))


def test_test_trials_and_images_are_common_to_all_subjects(default_design_root: Path) -> None:
    design = load_design(default_design_root)
    trials = [subject_trials(design, s, 37) for s in (1, 2, 5, 7)]
    for other in trials[1:]:
        np.testing.assert_array_equal(other.is_test, trials[0].is_test)
        np.testing.assert_array_equal(other.nsd_ids[other.is_test], trials[0].nsd_ids[trials[0].is_test])
        assert np.intersect1d(other.nsd_ids[~other.is_test], trials[0].nsd_ids[~trials[0].is_test]).size == 0


def test_sessions_out_of_range_are_refused(default_design_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"--sessions: expected 1\.\.40, found 41"):
        subject_trials(load_design(default_design_root), 1, 41)


def test_missing_design_file_names_the_expected_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing NSD design file: expected file .*nsd_expdesign\.mat"):
        load_design(tmp_path)

"""The reader's shared-image rule on the default SynthNSD design: NSD's 982 / 1000 test images."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

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


@pytest.fixture(scope="module")
def ci_arrays() -> dict[str, np.ndarray]:
    """The ci preset's design arrays as nsd_expdesign.mat stores them (float64, 1-based, row vectors)."""
    design = build_design(SynthConfig.preset("ci"))
    return {
        "masterordering": design.masterordering[None, :].astype(np.float64),
        "subjectim": design.subjectim.astype(np.float64),
        "sharedix": design.sharedix[None, :].astype(np.float64),
    }


def _write_design(root: Path, arrays: dict[str, np.ndarray]) -> Path:
    path = root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, arrays, format="5", do_compression=False)
    return root


def _changed(arrays: dict[str, np.ndarray], key: str, index: tuple[int, int], value: float) -> dict[str, np.ndarray]:
    out = {k: v.copy() for k, v in arrays.items()}
    out[key][index] = value
    return out


def test_a_valid_design_file_loads_0_based(ci_arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    design = load_design(_write_design(tmp_path, ci_arrays))
    np.testing.assert_array_equal(design.masterordering, ci_arrays["masterordering"].ravel() - 1)
    np.testing.assert_array_equal(design.subjectim, ci_arrays["subjectim"] - 1)
    np.testing.assert_array_equal(design.sharedix, ci_arrays["sharedix"].ravel() - 1)


def test_a_0_based_design_file_is_refused_at_its_first_0(ci_arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    shifted = {k: v - 1 for k, v in ci_arrays.items()}
    first_zero = int(np.flatnonzero(shifted["masterordering"].ravel() == 0)[0])
    n_columns = ci_arrays["subjectim"].shape[1]
    path = _write_design(tmp_path, shifted) / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"
    with pytest.raises(DataError) as caught:
        load_design(tmp_path)
    assert str(caught.value) == (
        f"NSD design file {path}: masterordering holds 0 at position {first_zero + 1}; "
        f"expected NSD's 1-based indices 1..{n_columns} (a 0-based file?)"
    )


@pytest.mark.parametrize(
    ("key", "index", "value", "message"),
    [
        ("masterordering", (0, 16), 0, r"masterordering holds 0 at position 17; expected NSD's 1-based indices "
         r"1\.\.\d+ \(a 0-based file\?\)"),
        ("masterordering", (0, 4), -3, r"masterordering holds -3 at position 5; .*\(columns of subjectim\)"),
        ("masterordering", (0, 4), 2.5, r"masterordering holds 2\.5 at position 5; "),
        ("masterordering", (0, 4), np.nan, r"masterordering holds nan at position 5; "),
        ("subjectim", (2, 40), 0, r"subjectim holds 0 at row 3, column 41; expected NSD's 1-based indices "
         r"1\.\.73000 \(a 0-based file\?\)"),
        ("subjectim", (7, 40), 73001, r"subjectim holds 73001 at row 8, column 41; expected NSD's 1-based "
         r"indices 1\.\.73000 \(the images of the stimuli file\)"),
        ("sharedix", (0, 3), 0, r"sharedix holds 0 at position 4; expected NSD's 1-based indices 1\.\.73000 "
         r"\(a 0-based file\?\)"),
        ("sharedix", (0, 3), 73001, r"sharedix holds 73001 at position 4; .*\(the images of the stimuli file\)"),
    ],
)
def test_an_index_outside_its_range_is_refused_naming_field_position_and_value(
    ci_arrays: dict[str, np.ndarray], tmp_path: Path, key: str, index: tuple[int, int], value: float, message: str
) -> None:
    _write_design(tmp_path, _changed(ci_arrays, key, index, value))
    with pytest.raises(DataError, match=r"^NSD design file .*nsd_expdesign\.mat: " + message):
        load_design(tmp_path)


def test_masterordering_beyond_the_columns_of_subjectim_is_refused(
    ci_arrays: dict[str, np.ndarray], tmp_path: Path
) -> None:
    n_columns = ci_arrays["subjectim"].shape[1]
    _write_design(tmp_path, _changed(ci_arrays, "masterordering", (0, 9), n_columns + 1))
    expected = f"masterordering holds {n_columns + 1} at position 10; expected NSD's 1-based indices 1..{n_columns} "
    with pytest.raises(DataError, match=re.escape(expected + "(columns of subjectim)")):
        load_design(tmp_path)


def test_a_0_based_sharedix_without_a_0_is_refused(ci_arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    """Shifted ids that stay in range no longer match the shared images, subjectim's first columns."""
    # Renumber the images one up (still a valid design), so that the shifted sharedix holds no 0.
    renumbered = {**ci_arrays, "subjectim": ci_arrays["subjectim"] + 1}
    arrays = {**renumbered, "sharedix": ci_arrays["sharedix"]}
    load_design(_write_design(tmp_path, {**renumbered, "sharedix": ci_arrays["sharedix"] + 1}))
    n_shared = arrays["sharedix"].size
    _write_design(tmp_path, arrays)
    with pytest.raises(
        DataError,
        match=rf"expected sharedix to hold the images of subjectim's first {n_shared} columns \(the shared images, "
        rf"in every row\), found \d+ of its ids absent from row 1 \(first: \d+\) \(a 0-based sharedix\?\)$",
    ):
        load_design(tmp_path)


def test_sharedix_longer_than_a_subjects_images_is_refused(ci_arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    n_columns = ci_arrays["subjectim"].shape[1]
    arrays = {**ci_arrays, "sharedix": np.arange(1, n_columns + 2, dtype=np.float64)[None, :]}
    _write_design(tmp_path, arrays)
    with pytest.raises(DataError, match=rf"expected sharedix to list at most the {n_columns} columns of subjectim"):
        load_design(tmp_path)

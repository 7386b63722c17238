"""The design reproduces NSD's split: 982 shared images in 2,770 trials within sessions 1-37, 1000 / 3000 in 40."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval.data import layout
from eval.data.synth import SynthConfig
from eval.data.synth.design import Design, build_design, stim_info_table


@pytest.fixture(scope="module")
def default_design() -> tuple[SynthConfig, Design]:
    config = SynthConfig.preset("default")
    return config, build_design(config)


def _shared_counts(design: Design, sessions: int) -> tuple[int, int, np.ndarray]:
    n = sessions * design.trials_per_session
    columns = design.masterordering[:n]
    shared = columns[columns <= design.n_shared]
    images, reps = np.unique(shared, return_counts=True)
    return images.size, shared.size, reps


def test_default_reproduces_nsd_split(default_design: tuple[SynthConfig, Design]) -> None:
    _, design = default_design
    assert design.n_trials == 6000 and design.trials_per_session == 150
    images, trials, reps = _shared_counts(design, 37)
    assert (images, trials) == (982, 2770)
    assert (reps < 3).any() and reps.max() == 3
    images, trials, reps = _shared_counts(design, 40)
    assert (images, trials) == (1000, 3000) and (reps == 3).all()


def test_ci_split_is_scaled(ci_config: SynthConfig) -> None:
    design = build_design(ci_config)
    images, trials, _ = _shared_counts(design, 37)
    assert (images, trials) == (round(0.982 * ci_config.n_shared), round(2.770 * ci_config.n_shared))
    assert _shared_counts(design, 40)[:2] == (ci_config.n_shared, 3 * ci_config.n_shared)


def test_shared_trials_common_to_subjects(default_design: tuple[SynthConfig, Design]) -> None:
    config, design = default_design
    shared = design.shared_trials()
    ids = {s: design.nsd_ids(s) for s in config.subjects}
    for s in config.subjects[1:]:
        np.testing.assert_array_equal(ids[s][shared], ids[1][shared])
    shared_ids = set(design.sharedix - 1)
    assert set(ids[1][shared]) == shared_ids
    own = [set(ids[s][~shared]) for s in config.subjects]
    for a in range(len(own)):
        assert not own[a] & shared_ids
        assert len(own[a]) == config.n_train
        for b in range(a + 1, len(own)):
            assert not own[a] & own[b]  # distinct training images per subject
    for s in (3, 4, 6, 8):  # subjects without brains repeat the first subject's row
        np.testing.assert_array_equal(design.subjectim[s - 1], design.subjectim[0])


def test_every_image_shown_three_times(default_design: tuple[SynthConfig, Design]) -> None:
    _, design = default_design
    _, counts = np.unique(design.masterordering, return_counts=True)
    assert counts.size == design.subjectim.shape[1] and (counts == 3).all()
    # Training images are spread over sessions, not shown in a block.
    sessions = (np.flatnonzero(design.masterordering > design.n_shared) // design.trials_per_session) + 1
    assert np.unique(sessions).size == layout.DESIGN_SESSIONS


def test_stim_info_reps_agree_with_design(default_design: tuple[SynthConfig, Design]) -> None:
    config, design = default_design
    table = stim_info_table(config, design)
    for s in range(1, 9):
        ids = design.nsd_ids(s)
        limit = layout.SESSIONS_PER_SUBJECT[s] * design.trials_per_session
        reps = table[[f"subject{s}_rep{r}" for r in range(3)]].to_numpy()
        expected = np.zeros_like(reps)
        seen: dict[int, int] = {}
        for t in range(limit):
            k = seen.get(int(ids[t]), 0)
            expected[ids[t], k] = t + 1
            seen[int(ids[t])] = k + 1
        np.testing.assert_array_equal(reps, expected)
        assert set(np.flatnonzero(table[f"subject{s}"])) == set(design.subjectim[s - 1] - 1)
    assert (table["shared1000"].to_numpy() == np.isin(np.arange(config.n_images), design.sharedix - 1)).all()


def test_written_table_matches_design_file(ci_root: Path, ci_config: SynthConfig) -> None:
    import scipy.io

    mat = scipy.io.loadmat(layout.expdesign(ci_root))
    mo = mat["masterordering"].ravel().astype(int)
    subjectim = mat["subjectim"].astype(int)
    table = pd.read_csv(layout.stim_info(ci_root), index_col=0)
    for s in ci_config.subjects:
        ids = subjectim[s - 1, mo - 1] - 1
        rep0 = table[f"subject{s}_rep0"].to_numpy()
        first = {int(i): t + 1 for t, i in reversed(list(enumerate(ids)))}
        assert all(rep0[i] == t for i, t in first.items())
    shared = mo <= ci_config.n_shared
    assert set(subjectim[0, mo[shared] - 1] - 1) == set(mat["sharedix"].ravel().astype(int) - 1)

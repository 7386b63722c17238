"""The simulation is learnable in the intended way, seen through the real reader and the default voxel recipe:
structural voxels predict low-level image content, semantic voxels predict scene categories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch.nn.functional as F

from baselines.ridge import fit_ridge
from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions, SubjectData
from eval.data.synth import truth_dir
from eval.data.synth.scenes import CATEGORIES


def _test_correlation(data: SubjectData, group: str, train_y: np.ndarray, test_y: np.ndarray) -> float:
    """Mean over targets of the test-set correlation of a ridge map fitted on the training split."""
    columns = data.group(group)
    model = fit_ridge(data.train_fmri[:, columns], train_y)
    predicted = model.predict(data.test_fmri[:, columns])
    keep = test_y.std(axis=0) > 0
    return float(np.mean([np.corrcoef(predicted[:, j], test_y[:, j])[0, 1] for j in np.flatnonzero(keep)]))


def _pixels(stimuli: Stimuli, ids: np.ndarray) -> np.ndarray:
    return F.adaptive_avg_pool2d(stimuli.images_tensor(ids), 8).flatten(1).numpy()


def _categories(root: Path, ids: np.ndarray) -> np.ndarray:
    scenes = json.loads((truth_dir(root) / "scenes.json").read_text())
    return np.array([[any(o["category"] == c for o in scenes[i]["objects"]) for c in CATEGORIES] for i in ids], float)


@pytest.mark.parametrize("subject", [1, 7])
def test_structural_group_carries_pixels_and_semantic_group_carries_categories(synth_root: Path, subject: int) -> None:
    data = build_subject(synth_root, subject, PrepareOptions())
    stimuli = Stimuli(synth_root)
    pixels = _pixels(stimuli, data.train_ids), _pixels(stimuli, data.test_ids)
    categories = _categories(synth_root, data.train_ids), _categories(synth_root, data.test_ids)
    pixels_structural = _test_correlation(data, "structural", *pixels)
    pixels_semantic = _test_correlation(data, "semantic", *pixels)
    categories_structural = _test_correlation(data, "structural", *categories)
    categories_semantic = _test_correlation(data, "semantic", *categories)
    assert pixels_structural > pixels_semantic + 0.1
    assert categories_semantic > categories_structural + 0.2

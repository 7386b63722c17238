"""Transfer: fine-tuning rows and test inputs share one normalisation (the fine-tuning split's statistics)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from eval.data.prepare import build_subject, load_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import Transfer
from havir.transfer import finetune_data


def _zscore_with(rows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    std = reference.std(axis=0)
    std[std == 0] = 1.0
    return (rows - reference.mean(axis=0)) / std


def test_test_inputs_are_mapped_onto_the_fine_tuning_statistics(synth_root, private_cache) -> None:
    data = build_subject(synth_root, 2, PrepareOptions())  # zscore_train over every session's training rows
    limited, input_map = finetune_data(Transfer(1, 1), data, Stimuli(synth_root), private_cache)
    raw = load_subject(synth_root, 2, PrepareOptions(normalisation="none"), private_cache)
    limited_raw = load_subject(synth_root, 2, PrepareOptions(sessions=1, normalisation="none"), private_cache)
    reference = np.asarray(limited_raw.train_fmri, dtype=np.float64)

    # The fine-tuning rows are z-scored with their own split's statistics ...
    np.testing.assert_allclose(limited.train_fmri, _zscore_with(reference, reference), atol=1e-4)
    # ... and the harness's test inputs (z-scored with all sessions' statistics) end up on the same ones.
    expected = _zscore_with(np.asarray(raw.test_fmri, dtype=np.float64), reference)
    mapped = input_map.apply(data.test_fmri)
    np.testing.assert_allclose(mapped, expected, atol=1e-3)
    assert not np.allclose(mapped, data.test_fmri, atol=1e-2)  # the map is not the identity here


@pytest.mark.parametrize("normalisation", ["none", "zscore_session"])
def test_normalisations_that_need_no_map_get_none(synth_root, private_cache, normalisation: str) -> None:
    data = build_subject(synth_root, 2, PrepareOptions(normalisation=normalisation))
    _, input_map = finetune_data(Transfer(1, 1), data, Stimuli(synth_root), private_cache)
    assert input_map.scale is None
    assert input_map.apply(data.test_fmri) is data.test_fmri


def test_the_map_survives_a_checkpoint(tmp_path) -> None:
    from havir.transfer import InputMap, load_input_map, save_input_map

    original = InputMap(scale=np.array([2.0, 0.5]), shift=np.array([1.0, -1.0]))
    save_input_map(original, tmp_path / "map.safetensors")
    restored = load_input_map(tmp_path / "map.safetensors")
    assert dataclasses.astuple(restored)[0].tolist() == [2.0, 0.5]
    np.testing.assert_allclose(restored.apply(np.ones((1, 2), dtype=np.float32)), [[3.0, -0.5]])
    assert load_input_map(tmp_path / "absent.safetensors").scale is None

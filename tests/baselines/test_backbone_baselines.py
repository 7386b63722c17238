"""Brain-Diffuser and Takagi behind the decoder interface: fitting, checkpoints, refusals, options, and learning."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.brain_diffuser import BRAIN_DIFFUSER, BrainDiffuserOptions
from baselines.takagi import TAKAGI, TakagiOptions
from eval.backbone.locate import MINIVD_DIR
from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, DecoderSpec, TestInputs, Variant
from eval.errors import ConfigError, DataError

SPECS = [BRAIN_DIFFUSER, TAKAGI]
FAST = {"brain_diffuser": BrainDiffuserOptions(steps=3), "takagi": TakagiOptions(steps=3)}


@pytest.fixture(scope="module")
def setting(synth_root: Path):
    return build_subject(synth_root, 1, PrepareOptions()), Stimuli(synth_root)


def build(spec: DecoderSpec, backbone, options=None, seed: int = 0):
    context = BuildContext(device="cpu", seed=seed, subject=1)
    return spec.build(context, Variant(options=options or FAST[spec.name], backbone=str(backbone)))


def first_rows(data, count: int = 4) -> TestInputs:
    return TestInputs(fmri=np.asarray(data.test_fmri[:count]), nsd_ids=np.asarray(data.test_ids[:count]))


@pytest.fixture(scope="module", params=SPECS, ids=lambda s: s.name)
def fitted(request, tiny_vd_dir: Path, setting, tmp_path_factory: pytest.TempPathFactory):
    data, stimuli = setting
    decoder = build(request.param, tiny_vd_dir)
    decoder.fit(data, stimuli)
    folder = tmp_path_factory.mktemp(f"{request.param.name}-checkpoint")
    decoder.save(folder)
    return request.param, decoder, folder


def test_fit_records_the_chosen_penalties_per_target(fitted) -> None:
    spec, decoder, folder = fitted
    targets = {"brain_diffuser": ["latents", "image_tokens", "text_tokens"], "takagi": ["latents", "text_tokens"]}
    assert list(decoder.fits) == targets[spec.name]
    flags = decoder.meta.flags
    assert decoder.meta.kind == "baseline" and flags["backbone"].endswith("tiny-vd")
    for target in targets[spec.name]:
        assert flags[f"ridge_{target}"].startswith("alpha") and "CV R2" in flags[f"ridge_{target}"]
    state = json.loads((folder / "ridge.json").read_text())
    assert set(state["alphas"]) == set(targets[spec.name]) and state["training"]["alphas"] == "cv"


def test_takagi_reads_the_structural_group_for_z_and_the_semantic_group_for_text(setting, fitted) -> None:
    spec, decoder, _ = fitted
    data, _ = setting
    if spec.name == "brain_diffuser":
        assert all(len(cols) == data.n_voxels for cols in decoder.columns.values())
    else:
        np.testing.assert_array_equal(decoder.columns["latents"], data.group("structural"))
        np.testing.assert_array_equal(decoder.columns["text_tokens"], data.group("semantic"))
        assert decoder.fits["latents"].n_features == data.group("structural").size


def test_checkpoint_round_trip_reconstructs_the_same_images(fitted, tiny_vd_dir: Path, setting) -> None:
    spec, decoder, folder = fitted
    data, stimuli = setting
    again = build(spec, tiny_vd_dir)
    again.load(folder, data, stimuli)
    inputs = first_rows(data)
    images = decoder.reconstruct(inputs)
    assert images.shape == (4, 3, 32, 32) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert torch.equal(again.reconstruct(inputs), images)
    assert again.meta.flags == decoder.meta.flags


def test_checkpoint_of_other_data_is_refused_naming_file_expected_and_found(fitted, tiny_vd_dir, setting) -> None:
    spec, _, folder = fitted
    data, stimuli = setting
    other = dataclasses.replace(data, fingerprint="f" * 64)
    with pytest.raises(DataError) as caught:
        build(spec, tiny_vd_dir).load(folder, other, stimuli)
    message = str(caught.value)
    assert "\n" not in message and str(folder / "ridge.json") in message
    assert "expected data fingerprint ffffffffffff" in message and f"found {data.fingerprint[:12]}" in message


def test_checkpoint_with_other_fit_settings_is_refused(fitted, tiny_vd_dir, setting) -> None:
    spec, _, folder = fitted
    data, stimuli = setting
    options = dataclasses.replace(FAST[spec.name], alphas="original")
    with pytest.raises(ConfigError, match='expected training settings alphas="original", found alphas="cv"'):
        build(spec, tiny_vd_dir, options).load(folder, data, stimuli)


def test_generation_options_share_the_fitted_checkpoint(fitted, tiny_vd_dir) -> None:
    spec, decoder, _ = fitted
    other = build(spec, tiny_vd_dir, dataclasses.replace(FAST[spec.name], steps=5, strength=0.5))
    assert other.checkpoint_variant(None) == decoder.checkpoint_variant(None)
    refit = build(spec, tiny_vd_dir, dataclasses.replace(FAST[spec.name], cv_folds=3))
    assert refit.checkpoint_variant(None) != decoder.checkpoint_variant(None)


def test_original_alphas_are_the_papers(tiny_vd_dir, setting) -> None:
    data, stimuli = setting
    decoder = build(BRAIN_DIFFUSER, tiny_vd_dir, BrainDiffuserOptions(alphas="original", steps=3))
    decoder.fit(data, stimuli)
    alphas = {target: set(fit.alphas.tolist()) for target, fit in decoder.fits.items()}
    assert alphas == {"latents": {50_000.0}, "image_tokens": {60_000.0}, "text_tokens": {100_000.0}}


def test_rescaled_predictions_take_the_training_targets_statistics(fitted, setting) -> None:
    spec, decoder, _ = fitted
    data, _ = setting
    if not decoder.options.rescale:
        pytest.skip(f"{spec.name} does not rescale by default")
    pred = decoder.predict(np.asarray(data.test_fmri))
    fit = decoder.fits["image_tokens"]
    flat = pred["image_tokens"].reshape(len(data.test_ids), -1).double()
    varying = fit.y_std > 0
    torch.testing.assert_close(flat.mean(0)[varying], fit.y_mean.double()[varying], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(flat.std(0, correction=0)[varying], fit.y_std.double()[varying], rtol=1e-3, atol=1e-4)


MINIVD = pytest.mark.skipif(
    not (MINIVD_DIR / "model_index.json").is_file(), reason=f"MiniVD weights not installed at {MINIVD_DIR}"
)


@MINIVD
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_baseline_beats_the_reference_floors_on_ci_synthnsd(spec: DecoderSpec, setting, ci_comparison) -> None:
    """On the CI SynthNSD with MiniVD (the reconstructions of the shared CI comparison, `tests/regression/ci_run.py`:
    default options, 4 steps): PixCorr above the mean image, two-way identification (MiniVD's CLIP image space)
    above a random training image by 5 points."""
    from tests.baselines.floors import scores_against_floors

    data, stimuli = setting
    scores = scores_against_floors(ci_comparison, spec.name, data, stimuli, first_rows(data, 64))
    assert scores[spec.name][0] > scores["mean_image"], scores
    assert scores[spec.name][1] > scores["random"] + 0.05, scores


def test_baseline_group_and_specs() -> None:
    from eval.registry import expand, resolve

    assert expand("baseline") == ["brain_diffuser", "takagi", "mindeye"]
    for name in ("brain_diffuser", "takagi"):
        spec = resolve(name)
        assert spec.kind == "baseline" and spec.uses_backbone and not spec.transfers and not spec.ablations

"""The HAVIR decoder: what each ablation feeds the backbone, checkpoints, bad inputs, brain maps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

from eval.errors import ConfigError, DataError, InputError
from tests.havir.conftest import first_test_rows, make_decoder


def _loaded(vd_dir: Path, fitted, subject1, ablation: str | None):
    _, folder = fitted
    data, stimuli = subject1
    decoder = make_decoder(vd_dir, ablation)
    decoder.load(folder, data, stimuli)
    return decoder


def _perturbed(decoder, module: torch.nn.Module):
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter))
    return decoder


# Which parts of the model each variant's images may depend on.
DEPENDS = {
    None: {"structural", "image_head", "text_head"},
    "no_cap": {"structural", "image_head"},
    "no_img": {"structural", "text_head"},
    "no_z": {"image_head", "text_head"},
    "only_z": {"structural"},
}


def _part(model, name: str) -> torch.nn.Module:
    return {
        "structural": model.structural,
        "image_head": model.semantic.image_head,
        "text_head": model.semantic.text_head,
    }[name]


@pytest.mark.parametrize("ablation", list(DEPENDS))
def test_each_ablation_uses_exactly_its_inputs(havir_vd_dir, fitted, subject1, ablation) -> None:
    data, _ = subject1
    inputs = first_test_rows(data, 3)
    reference = _loaded(havir_vd_dir, fitted, subject1, ablation).reconstruct(inputs)
    assert reference.shape == (3, 3, 32, 32)
    for part in ("structural", "image_head", "text_head"):
        decoder = _loaded(havir_vd_dir, fitted, subject1, ablation)
        _perturbed(decoder, _part(decoder.model, part))
        changed = not torch.allclose(decoder.reconstruct(inputs), reference, atol=1e-6)
        assert changed == (part in DEPENDS[ablation]), (ablation, part)


def test_only_z_is_the_autokl_decoding_of_z(havir_vd_dir, fitted, subject1) -> None:
    data, _ = subject1
    decoder = _loaded(havir_vd_dir, fitted, subject1, "only_z")
    inputs = first_test_rows(data, 3)
    z, _, _ = decoder.predict(inputs.fmri)
    assert torch.allclose(decoder.reconstruct(inputs), decoder.backbone().decode(z))


def test_structural_strength_controls_how_much_of_z_survives(havir_vd_dir, fitted, subject1) -> None:
    from eval.backbone.sampling import GenerationOptions

    data, stimuli = subject1
    inputs = first_test_rows(data, 3)
    # 10 steps: s = 0.3 runs floor(3.0) = 3 of them, an intermediate strength (s -> 0 runs none, s = 1 all ten).
    assert GenerationOptions(steps=10, strength=0.3).start_step == 7
    distance, depends_on_z = {}, {}
    for strength in (0.3, 1.0):
        decoder = make_decoder(havir_vd_dir, strength=strength, steps=10)
        decoder.load(fitted[1], data, stimuli)
        assert decoder.meta.flags["strength"] == strength
        z, _, _ = decoder.predict(inputs.fmri)
        direct = decoder.backbone().decode(z)  # what s -> 0 gives: z' itself, decoded
        images = decoder.reconstruct(inputs)
        distance[strength] = float((images - direct).abs().mean())
        _perturbed(decoder, decoder.model.structural)  # another z', the same tokens
        depends_on_z[strength] = not torch.equal(decoder.reconstruct(inputs), images)
    # s = 0.3 ran its steps (it is not z' decoded) yet keeps more of z' than s = 1, which keeps none of it.
    assert 0 < distance[0.3] < distance[1.0], distance
    assert depends_on_z == {0.3: True, 1.0: False}


def test_no_split_reads_every_nsdgeneral_voxel_in_both_modules(havir_vd_dir, subject1) -> None:
    data, stimuli = subject1
    decoder = make_decoder(havir_vd_dir, "no_split", epochs=1)
    decoder.fit(data, stimuli)
    layers = decoder.model.input_layers()
    assert layers["structural"].in_features == layers["semantic"].in_features == len(data.group("nsdgeneral"))
    assert decoder.checkpoint_variant(data).startswith("no_split-")
    assert make_decoder(havir_vd_dir, "no_cap").checkpoint_variant(data) == make_decoder(
        havir_vd_dir
    ).checkpoint_variant(data)


def test_checkpoint_round_trip_gives_the_same_images(havir_vd_dir, fitted, subject1) -> None:
    decoder, _ = fitted
    data, _ = subject1
    inputs = first_test_rows(data, 2)
    restored = _loaded(havir_vd_dir, fitted, subject1, None)
    assert torch.equal(decoder.reconstruct(inputs), restored.reconstruct(inputs))
    state = json.loads((fitted[1] / "havir.json").read_text())
    assert state["data_fingerprint"] == data.fingerprint and state["n_voxels"] == data.n_voxels


def test_checkpoint_of_other_data_is_refused(havir_vd_dir, fitted, synth_root, tmp_path) -> None:
    from eval.data.prepare import build_subject
    from eval.data.stimuli import Stimuli
    from eval.data.subject import PrepareOptions

    other = build_subject(synth_root, 2, PrepareOptions())
    decoder = make_decoder(havir_vd_dir)
    expected = r"havir\.json: expected data fingerprint \w{12} \(subject 2's prepared data\), found \w{12}$"
    with pytest.raises(DataError, match=expected):
        decoder.load(fitted[1], other, Stimuli(synth_root))


def test_checkpoint_with_another_voxel_count_is_refused(havir_vd_dir, fitted, subject1, tmp_path) -> None:
    data, stimuli = subject1
    folder = Path(shutil.copytree(fitted[1], tmp_path / "ck"))
    state = json.loads((folder / "havir.json").read_text())
    state["n_voxels"] = data.n_voxels + 5
    (folder / "havir.json").write_text(json.dumps(state))
    expected = rf"havir\.json: expected voxel count {data.n_voxels}, found {data.n_voxels + 5}$"
    with pytest.raises(DataError, match=expected):
        make_decoder(havir_vd_dir).load(folder, data, stimuli)


def test_checkpoint_trained_with_other_settings_is_refused(havir_vd_dir, fitted, subject1) -> None:
    data, stimuli = subject1
    expected = r"havir\.json: expected training settings hidden=48, found hidden=\d+; use --refit$"
    with pytest.raises(ConfigError, match=expected):
        make_decoder(havir_vd_dir, hidden=48).load(fitted[1], data, stimuli)


def test_subject_without_training_data_is_refused(havir_vd_dir, subject1) -> None:
    import dataclasses

    data, stimuli = subject1
    empty = dataclasses.replace(data, train_fmri=data.train_fmri[:0], train_ids=data.train_ids[:0])
    with pytest.raises(DataError, match=r"subject 1: no training data \(0 training images\)"):
        make_decoder(havir_vd_dir).fit(empty, stimuli)


def test_wrong_voxel_count_at_test_time_is_refused(fitted) -> None:
    decoder, _ = fitted
    with pytest.raises(InputError, match=r"expected fMRI \(n, \d+\), found \[2, 7\]"):
        decoder.predict(np.zeros((2, 7), dtype=np.float32))


def test_brain_maps_put_each_voxels_weight_norm_in_the_volume(fitted, subject1, tmp_path) -> None:
    decoder, _ = fitted
    data, _ = subject1
    written = decoder.write_artifacts(tmp_path, data)
    assert set(written) == {f"brainmap_{m}{s}" for m in ("structural", "semantic") for s in ("", "_nifti")}
    image = nib.load(written["brainmap_semantic_nifti"])
    assert image.shape == tuple(data.volume_shape) and np.allclose(image.affine, data.affine)
    volume = np.asarray(image.dataobj)
    weights = decoder.model.semantic.encoder.input.weight.detach()
    column = int(data.group("semantic")[5])
    x, y, z = data.voxel_xyz[column]
    assert volume[x, y, z] == pytest.approx(float(weights[:, 5].norm()), rel=1e-6)
    structural_only = set(map(tuple, data.voxel_xyz[data.group("structural")]))
    assert all(volume[v] == 0 for v in list(structural_only)[:20])
    with Image.open(written["brainmap_structural"]) as png:
        assert png.mode == "RGB" and min(png.size) > 16


def test_brain_map_display_spreads_the_weight_norms() -> None:
    from havir.brainmaps import display_scale

    volume = np.zeros((4, 4, 2), dtype=np.float32)
    volume[1:3, 1:3, 0] = np.linspace(1.0, 1.3, 4).reshape(2, 2)  # close values, as weight norms are
    shown = display_scale(volume)
    assert shown[0, 0, 0] == 0 and shown[volume != 0].min() == pytest.approx(0.15, abs=0.02)
    assert shown.max() == pytest.approx(1.0)


def test_vd_model_of_the_command_line_is_the_backbone(havir_vd_dir) -> None:
    from eval.decoders import BuildContext, Variant
    from havir.decoder import HavirDecoder

    context = BuildContext(device="cpu", seed=0, subject=1)
    assert HavirDecoder(context, Variant(backbone=str(havir_vd_dir)))._config(100).backbone == str(havir_vd_dir)
    assert HavirDecoder(context)._config(100).backbone == "minivd"

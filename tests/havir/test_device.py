"""HAVIR follows the decoder's device: no tensor is left on the CPU in training, prediction, checkpoints or
generation. Checked without a GPU: "cpu:0" stands in for an accelerator (`tests.stand_in_device`), and the
meta device runs the prediction's shapes."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from eval.cache import Cache
from tests.havir.conftest import first_test_rows, make_decoder
from tests.stand_in_device import NAME, StandInDevice


@pytest.fixture()
def fresh_backbones():
    """No backbone loaded outside this test: one on the stand-in device must be moved there while it watches."""
    from eval.backbone.shared import load_backbone

    load_backbone.cache_clear()
    yield
    load_backbone.cache_clear()


@pytest.fixture(scope="module")
def few_rows(subject1):
    """Subject 1 with 16 training images: enough for a training step, cheap to watch op by op."""
    data, stimuli = subject1
    return dataclasses.replace(data, train_fmri=data.train_fmri[:16], train_ids=data.train_ids[:16]), stimuli


def test_the_stand_in_device_fails_where_cuda_would() -> None:
    with StandInDevice() as device, torch.no_grad():
        layer = torch.nn.Linear(3, 2).to(NAME)
        assert all(device.on_device(p) for p in layer.parameters())
        with pytest.raises(RuntimeError, match=r"linear: expected all tensors on the device cpu:0.*\[4, 3\]"):
            layer(torch.ones(4, 3))
        out = layer(torch.ones(4, 3).to(NAME))
        assert device.on_device(out) and out.device == torch.device(NAME)
        assert device.on_device(out * torch.tensor(2.0))  # 0-dim CPU tensors mix, as on CUDA
        assert device.on_device(torch.zeros(2, device=out.device))
        with pytest.raises(RuntimeError, match="cat: expected all tensors"):
            torch.cat([out, torch.zeros(1, 2)])
        with pytest.raises(RuntimeError, match="numpy: a tensor on the device cpu:0"):
            out.numpy()
        assert not device.on_device(out.cpu()) and device.on_device(out)
        out.cpu().numpy()


def test_training_prediction_and_checkpoints_stay_on_the_device(
    havir_vd_dir, few_rows, fresh_backbones, tmp_path
) -> None:
    data, stimuli = few_rows
    inputs = first_test_rows(data, 2)
    with StandInDevice() as device:
        decoder = make_decoder(havir_vd_dir, device=NAME, epochs=1)
        decoder.cache = Cache(tmp_path / "cache")  # targets computed here, by the backbone on the device
        decoder.fit(data, stimuli)
        assert all(device.on_device(p) for p in decoder.model.parameters())
        assert len(decoder.history) == 1
        predicted = decoder.predict(inputs.fmri)
        assert all(device.on_device(x) and x.dtype == torch.float32 for x in predicted)
        decoder.save(tmp_path)
        restored = make_decoder(havir_vd_dir, device=NAME, epochs=1)
        restored.load(tmp_path, data, stimuli)
        assert all(device.on_device(p) for p in restored.model.parameters())
        again = restored.predict(inputs.fmri)
        assert all(torch.equal(a.cpu(), b.cpu()) for a, b in zip(predicted, again, strict=True))
        assert device.checked > 1000  # the training step and the backbone's targets ran through the checks


def test_generation_takes_the_predictions_on_the_device(havir_vd_dir, few_rows, fresh_backbones) -> None:
    data, stimuli = few_rows
    inputs = first_test_rows(data, 2)
    with StandInDevice() as device:
        # Every ablation: each leaves other inputs out, and the unconditional tokens (on the CPU) fill their place.
        for ablation in (None, "no_cap", "no_img", "no_z", "only_z"):
            decoder = make_decoder(havir_vd_dir, ablation, device=NAME)
            decoder._attach(data)
            decoder.model = decoder._new_model()  # untrained weights are enough to see where tensors are
            images = decoder.reconstruct(inputs)
            assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32, ablation
        vd = decoder.backbone()
        tokens = vd.image_tokens(stimuli.images_tensor(inputs.nsd_ids).to(NAME))  # images already on the device
        assert tokens.shape == (2, *vd.info.image_token_shape)
        assert device.checked > 1000


def test_prediction_runs_on_the_meta_device(havir_vd_dir, few_rows, fresh_backbones) -> None:
    data, _ = few_rows
    decoder = make_decoder(havir_vd_dir, device="meta")
    decoder._attach(data)
    decoder.model = decoder._new_model()
    assert {p.device.type for p in decoder.model.parameters()} == {"meta"}
    z, e_img, e_cap = decoder.predict(first_test_rows(data, 3).fmri)  # a CPU tensor mixed in would raise
    info = decoder.backbone().info
    assert z.device.type == "meta" and z.shape == (3, *info.latent_shape)
    assert e_img.shape == (3, *info.image_token_shape) and e_cap.shape == (3, *info.text_token_shape)


def test_autocast_runs_only_on_cuda_and_only_when_the_configuration_asks() -> None:
    from eval.errors import ConfigError
    from havir.config import PRESETS, HavirConfig
    from havir.device import autocast_dtype

    assert PRESETS["paper"]["mixed_precision"] == "bf16" and HavirConfig().mixed_precision == "no"
    assert autocast_dtype("cuda", "bf16") is torch.bfloat16 and autocast_dtype("cuda:1", "fp16") is torch.float16
    assert autocast_dtype("cuda", "no") is None
    assert autocast_dtype("cpu", "bf16") is None and autocast_dtype(NAME, "bf16") is None
    with pytest.raises(ConfigError, match="mixed_precision: expected one of no, bf16, fp16, found 'bf15'"):
        autocast_dtype("cpu", "bf15")


def test_mixed_precision_changes_nothing_on_the_cpu() -> None:
    from types import SimpleNamespace

    from eval.backbone.targets import Targets
    from havir.config import HavirConfig
    from havir.train import TrainingSet, build_model, train

    info = SimpleNamespace(latent_shape=(4, 8, 8), image_token_shape=(5, 8), text_token_shape=(3, 8))
    generator = torch.Generator().manual_seed(0)
    targets = Targets(*(torch.randn(24, *shape, generator=generator) for shape in ((4, 8, 8), (5, 8), (3, 8))))
    data = TrainingSet(torch.randn(24, 10, generator=generator), torch.randn(24, 12, generator=generator), targets)
    results = []
    for precision in ("no", "bf16"):
        config = HavirConfig(hidden=16, dropout=0.0, batch_size=8, epochs=2, mixed_precision=precision)
        torch.manual_seed(0)
        model = build_model(config, 10, 12, info)
        history = train(model, data, config, seed=0, progress=False)
        results.append((history, model.state_dict()))
    (history_no, weights_no), (history_bf16, weights_bf16) = results
    assert history_no == history_bf16
    assert all(torch.equal(weights_no[k], weights_bf16[k]) for k in weights_no)

"""HAVIR on CUDA (CI SynthNSD, MiniVD): fits, saves, loads and reconstructs 16 test images there, agreeing with the
CPU within stated tolerances; bf16 autocast stays close to float32.

Run on a GPU machine: `pytest -m gpu tests/gpu -o addopts=""`.

Tolerances. CUDA is not bit-identical to the CPU: cuDNN convolutions use TF32 by default (10-bit mantissa), and
summation orders differ. With the same weights, predictions agree to 1% and images to 0.01 (mean absolute
difference, 1% of the range). Training magnifies the differences a little (AdamW normalises near-zero gradients),
so fitted models are compared by their loss history (1%) and their predictions (5%), all relative.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from tests.havir.conftest import TINY_OPTIONS, first_test_rows

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

DEVICE = "cuda"


def _decoder(device: str):
    """HAVIR with the tiny test options (2 epochs, hidden 32, no dropout, 3 steps) over the shipped MiniVD."""
    from eval.decoders import BuildContext, Variant
    from havir.config import HavirOptions
    from havir.decoder import HavirDecoder

    return HavirDecoder(BuildContext(device=device, seed=0, subject=1), Variant(options=HavirOptions(**TINY_OPTIONS)))


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean absolute difference over the mean absolute value of `b` (both taken to the CPU)."""
    a, b = a.detach().float().cpu(), b.detach().float().cpu()
    return float((a - b).abs().mean() / b.abs().mean())


@pytest.fixture(scope="module")
def subject1(synth_root):
    from eval.data.prepare import build_subject
    from eval.data.stimuli import Stimuli
    from eval.data.subject import PrepareOptions

    return build_subject(synth_root, 1, PrepareOptions()), Stimuli(synth_root)


@pytest.fixture(scope="module")
def fitted(subject1, tmp_path_factory):
    """The same decoder fitted on CUDA and on the CPU, with the folders of their checkpoints."""
    data, stimuli = subject1
    out = {}
    for device in (DEVICE, "cpu"):  # CUDA first: it computes the (device-independent) cached targets
        decoder = _decoder(device)
        decoder.fit(data, stimuli)
        folder = tmp_path_factory.mktemp(f"havir-{device}")
        decoder.save(folder)
        out[device] = decoder, folder
    return out


def test_havir_fits_on_cuda_as_on_the_cpu(fitted, subject1) -> None:
    data, _ = subject1
    cuda, _ = fitted[DEVICE]
    cpu, _ = fitted["cpu"]
    assert {p.device.type for p in cuda.model.parameters()} == {torch.device(DEVICE).type}
    assert {p.dtype for p in cuda.model.parameters()} == {torch.float32}
    for a, b in zip(cuda.history, cpu.history, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-2)
    inputs = first_test_rows(data, 16)
    for a, b in zip(cuda.predict(inputs.fmri), cpu.predict(inputs.fmri), strict=True):
        assert a.device.type == torch.device(DEVICE).type and b.device.type == "cpu"
        assert _relative(a, b) < 5e-2


def test_havir_reconstructs_16_test_images_on_cuda_as_on_the_cpu(fitted, subject1) -> None:
    data, stimuli = subject1
    cpu, cpu_folder = fitted["cpu"]
    on_cuda = _decoder(DEVICE)
    on_cuda.load(cpu_folder, data, stimuli)  # a CPU checkpoint loads onto the device
    assert {p.device.type for p in on_cuda.model.parameters()} == {torch.device(DEVICE).type}
    inputs = first_test_rows(data, 16)
    for a, b in zip(on_cuda.predict(inputs.fmri), cpu.predict(inputs.fmri), strict=True):
        assert _relative(a, b) < 1e-2
    images = on_cuda.reconstruct(inputs)
    reference = cpu.reconstruct(inputs)
    assert images.shape == reference.shape == (16, 3, 64, 64) and images.dtype == torch.float32
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    assert float((images.cpu() - reference).abs().mean()) < 1e-2
    # ... and a checkpoint saved from the device loads on the CPU with the same weights.
    cuda, cuda_folder = fitted[DEVICE]
    back = _decoder("cpu")
    back.load(cuda_folder, data, stimuli)
    for name, value in cuda.model.state_dict().items():
        assert torch.equal(back.model.state_dict()[name], value.cpu()), name


def test_bf16_autocast_stays_close_to_float32_and_keeps_float32_weights(fitted, subject1) -> None:
    from havir.train import train

    data, stimuli = subject1
    decoder, _ = fitted[DEVICE]
    inputs = first_test_rows(data, 16)
    full = decoder.predict(inputs.fmri)
    original = decoder.config
    decoder.config = dataclasses.replace(original, mixed_precision="bf16")
    try:
        mixed = decoder.predict(inputs.fmri)
    finally:
        decoder.config = original
    for a, b in zip(mixed, full, strict=True):
        assert a.dtype == torch.float32 and not torch.equal(a, b)  # autocast ran, and the outputs are float32
        assert _relative(a, b) < 5e-2
    train_set = decoder.training_set(data, stimuli)
    histories = {}
    for precision in ("no", "bf16"):
        model = decoder._new_model()
        config = dataclasses.replace(original, mixed_precision=precision)
        histories[precision] = train(model, train_set, config, seed=0, epochs=1, progress=False)
        assert {p.dtype for p in model.parameters()} == {torch.float32}, precision
    assert histories["bf16"][0]["loss"] == pytest.approx(histories["no"][0]["loss"], rel=5e-2)

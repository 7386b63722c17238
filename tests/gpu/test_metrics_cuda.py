"""All eight metrics on CUDA agree with the CPU (protocol mindeye-synth, seeded weights, 16 CI test images).

Run on a GPU machine: `pytest -m gpu tests/gpu -o addopts=""`.

Tolerances. PixCorr and SSIM resize in float32 and sum in float64 on both devices: they agree to 1e-5 per image.
The feature networks run their convolutions in TF32 on CUDA (cuDNN's default), which moves features by about
1e-3 relative, and the seeded networks are calibrated on each device separately: correlation distances agree to
5e-3 per image, and two-way identification, which counts wins over the other 15 images (steps of 1/15 per
image), to 0.02 on the mean (about five of the 240 comparisons flipping).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.cache import Cache

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

DEVICE = "cuda"
PROTOCOL = "mindeye-synth"


@pytest.fixture(scope="module")
def image_pairs(synth_root):
    """16 shared test images and noisy copies of them (scores away from both 0 and 1)."""
    from eval.data.design import load_design
    from eval.data.stimuli import Stimuli

    ids = np.sort(load_design(synth_root).sharedix)[:16]
    gt = Stimuli(synth_root).images_tensor(ids)
    noise = torch.randn(gt.shape, generator=torch.Generator().manual_seed(0))
    return gt, (gt + 0.15 * noise).clamp(0, 1)


def test_pixcorr_and_ssim_on_cuda_agree_with_the_cpu(image_pairs) -> None:
    from eval.metrics.score import score_pixel_metrics

    gt, recon = image_pairs
    cuda = score_pixel_metrics(gt, recon, protocol=PROTOCOL, device=DEVICE)
    cpu = score_pixel_metrics(gt, recon, protocol=PROTOCOL, device="cpu")
    for metric in ("pixcorr", "ssim"):
        assert cuda[metric].shape == (16,) and np.ptp(cpu[metric]) > 0, metric
        np.testing.assert_allclose(cuda[metric], cpu[metric], rtol=0, atol=1e-5, err_msg=metric)


def test_feature_metrics_on_cuda_agree_with_the_cpu(image_pairs, synth_root, tmp_path) -> None:
    from eval.metrics.feature_score import FeatureScorer
    from eval.metrics.seeded import calibration_set
    from eval.metrics.spec import get_metric

    gt, recon = image_pairs
    scores = {}
    for device in (DEVICE, "cpu"):
        # A cache of its own per device: calibration and ground-truth features are computed on each.
        scorer = FeatureScorer(
            PROTOCOL,
            "seeded",
            calibration=lambda: calibration_set(synth_root),
            cache=Cache(tmp_path / device),
            device=device,
        )
        scores[device] = scorer.score(gt, "sixteen-test-images", recon)
        for name in scorer.protocol.extractors:
            net = scorer.extractor(name).net
            kinds = {t.device.type for t in (*net.parameters(), *net.buffers())}
            assert kinds == {torch.device(device).type}, (device, name, kinds)
    assert set(scores[DEVICE]) == set(scores["cpu"]) and len(scores["cpu"]) == 6
    for metric, cpu in scores["cpu"].items():
        cuda = scores[DEVICE][metric]
        assert cuda.shape == (16,), metric
        if get_metric(metric).kind == "identification":
            assert abs(float(cuda.mean()) - float(cpu.mean())) <= 0.02, metric
        else:
            np.testing.assert_allclose(cuda, cpu, rtol=0, atol=5e-3, err_msg=metric)

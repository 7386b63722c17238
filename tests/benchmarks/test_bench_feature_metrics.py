"""Benchmarks of the feature metrics: the cost of a second decoder (ground truth cached), the share of time
outside the networks' forward passes, and the memory of two-way identification at the spec's worst case.

Run: tox -e bench  (or pytest -o addopts="" tests/benchmarks/test_bench_feature_metrics.py --benchmark-only)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.cache import Cache
from eval.data.design import load_design
from eval.data.source import embedded_synthnsd
from eval.data.stimuli import Stimuli
from eval.metrics.feature_score import FeatureScorer
from eval.metrics.score import score_pixel_metrics
from eval.metrics.seeded import calibration_set

N_IMAGES = 982


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.Tensor, torch.Tensor, Path]:
    """The default SynthNSD's 982 test images, reconstructions (other test images), and a fresh cache."""
    cache = tmp_path_factory.mktemp("bench-cache")
    root = embedded_synthnsd(Cache(cache), preset="default").root
    ids = np.sort(load_design(root).sharedix)[:N_IMAGES]
    images = Stimuli(root).images_tensor(ids)
    return root, images, images.roll(1, dims=0), cache


class _Timed(torch.nn.Module):
    """Adds each forward pass's wall time to a shared counter (batches run one at a time here)."""

    def __init__(self, net: torch.nn.Module, counter: list[float]) -> None:
        super().__init__()
        self.net = net
        self.counter = counter

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        start = time.perf_counter()
        out = self.net(x)
        self.counter[0] += time.perf_counter() - start
        return out


def test_second_decoder_costs_about_half_and_overhead_is_small(benchmark, synth) -> None:
    """First decoder: ground truth and reconstructions extracted; second: reconstructions only."""
    root, gt, recon, cache = synth
    scorer = FeatureScorer("mindeye-synth", "seeded", calibration=lambda: calibration_set(root), cache=Cache(cache))
    scorer.load_all()
    forward = [0.0]
    for loaded in scorer._loaded.values():
        object.__setattr__(loaded, "net", _Timed(loaded.net, forward))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one batch at a time, so forward time and wall time add up comparably
    try:
        start = time.perf_counter()
        scorer.score(gt, "bench-gt", recon)
        first_s = time.perf_counter() - start
        first_forward = forward[0]
        forward[0] = 0.0
        benchmark.pedantic(scorer.score, args=(gt, "bench-gt", recon.flip(0)), rounds=1, iterations=1)
        second_s = benchmark.stats.stats.min
        start = time.perf_counter()
        score_pixel_metrics(gt, recon, protocol="mindeye-synth")  # no network: PixCorr and SSIM at 425 px
        pixel_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    outside = (first_s - first_forward) / first_s
    outside_second = (second_s - forward[0]) / second_s
    benchmark.extra_info.update(
        n_images=N_IMAGES,
        first_decoder_s=first_s,
        second_decoder_s=second_s,
        ratio=second_s / first_s,
        outside_forward_share=outside,
        outside_forward_share_second=outside_second,
        # All eight metrics of the first decoder: the pixel metrics have no network at all, so under this
        # reduced protocol (tiny networks, SSIM still at 425 px) they add to the time outside forward passes.
        pixel_metrics_s=pixel_s,
        outside_forward_share_eight_metrics=(first_s - first_forward + pixel_s) / (first_s + pixel_s),
    )
    assert second_s / first_s < 0.7  # figure to reach: about half
    assert outside < 0.05  # figure to reach: at most 5% outside the forward passes
    assert outside_second < 0.05


_MEMORY_SCRIPT = """
import resource, sys, torch
from eval.metrics.identification import two_way_identification
n, d = 982, 184512
g = torch.Generator().manual_seed(0)
gt = torch.empty(n, d); recon = torch.empty(n, d)
for s in range(0, n, 64):  # standardised rows, as the extractor stores them
    a = torch.randn(min(64, n - s), d, generator=g)
    gt[s:s + 64] = torch.nn.functional.normalize(a - a.mean(1, keepdim=True), dim=1)
    b = a + 3 * torch.randn(a.shape, generator=g)
    recon[s:s + 64] = torch.nn.functional.normalize(b - b.mean(1, keepdim=True), dim=1)
import gc; gc.collect()
before = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:"))  # now, kB
scores = two_way_identification(gt, recon)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before * 1024, after * 1024, float(scores.mean()))
"""


@pytest.mark.slow
def test_two_way_identification_memory_at_alexnet_features_4(benchmark) -> None:
    """N = 982 and D = 184,512 (AlexNet features.4 at 256 px): peak memory the identification step adds to the
    resident set holding the two standardised feature matrices (1.45 GB)."""

    def run() -> tuple[int, int, float]:
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True, check=True)
        before, after, mean = out.stdout.split()
        return int(before), int(after), float(mean)

    before, after, mean = benchmark.pedantic(run, rounds=1, iterations=1)
    extra_gb = (after - before) / 1e9
    benchmark.extra_info.update(features_gb=before / 1e9, extra_gb=extra_gb, mean_score=mean)
    assert extra_gb < 2.0  # figure to reach: under 2 GB beyond the two feature matrices
    assert mean > 0.9

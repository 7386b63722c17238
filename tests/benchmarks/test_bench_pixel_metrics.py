"""Benchmark: SSIM of 982 image pairs at 425 px (the NSD test set under protocol mindeye), our vectorised
torch implementation against a scikit-image loop over the same float64 pairs.

Run: tox -e bench  (or pytest -o addopts="" tests/benchmarks/test_bench_pixel_metrics.py --benchmark-only)
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from eval.metrics.pixel import ssim_per_image

N_IMAGES = 982
SIZE = 425
CHUNK = 64  # as score_pixel_metrics steps through the set


@pytest.fixture(scope="module")
def gray_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random scenes and noisy reconstructions, float32 as the harness holds them (about 1.4 GB)."""
    g = torch.Generator().manual_seed(0)
    gt = torch.empty(N_IMAGES, SIZE, SIZE)
    recon = torch.empty(N_IMAGES, SIZE, SIZE)
    for start in range(0, N_IMAGES, CHUNK):
        n = min(CHUNK, N_IMAGES - start)
        coarse = torch.rand(n, 1, 24, 24, generator=g)
        scene = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bicubic")[:, 0]
        gt[start : start + n] = (scene + 0.1 * torch.rand(n, SIZE, SIZE, generator=g)).clamp(0, 1)
        recon[start : start + n] = (
            0.7 * gt[start : start + n].roll(5, dims=-1) + 0.3 * torch.rand(n, SIZE, SIZE, generator=g)
        ).clamp(0, 1)
    return gt, recon


def ours(gt: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    return torch.cat(
        [ssim_per_image(gt[i : i + CHUNK], recon[i : i + CHUNK]) for i in range(0, len(gt), CHUNK)]
    ).numpy()


def skimage_loop(gt: torch.Tensor, recon: torch.Tensor) -> np.ndarray:
    return np.array(
        [
            structural_similarity(
                a.numpy().astype(np.float64),
                b.numpy().astype(np.float64),
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=1.0,
            )
            for a, b in zip(gt, recon)
        ]
    )


@pytest.mark.slow
def test_ssim_982_pairs_425px_vs_skimage(benchmark, gray_pairs) -> None:
    gt, recon = gray_pairs
    start = time.perf_counter()
    reference = skimage_loop(gt, recon)
    skimage_s = time.perf_counter() - start
    result = benchmark.pedantic(ours, args=(gt, recon), rounds=1, iterations=1)
    ours_s = benchmark.stats.stats.min
    max_abs_diff = float(np.abs(result - reference).max())
    benchmark.extra_info.update(
        n_images=N_IMAGES,
        size=SIZE,
        torch_threads=torch.get_num_threads(),
        skimage_s=skimage_s,
        ours_s=ours_s,
        speedup=skimage_s / ours_s,
        max_abs_diff=max_abs_diff,
    )
    assert max_abs_diff < 1e-6
    assert skimage_s / ours_s >= 10.0  # figure to reach: at least 10x the scikit-image loop it replaces

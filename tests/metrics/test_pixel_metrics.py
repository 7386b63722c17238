"""PixCorr and SSIM against their reference implementations (numpy.corrcoef, scikit-image), image by image."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.ndimage
import torch
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity
from torchvision.transforms.v2 import functional as TF

from eval.metrics.pixel import gaussian_filter_interior, pixcorr_per_image, resize_bilinear, rgb_to_gray, ssim_per_image
from eval.metrics.protocol import MINDEYE
from eval.metrics.score import protocol_images, score_pixel_metrics


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)


def structured_images(n: int, size: int, seed: int) -> torch.Tensor:
    """Gradients, stripes, blobs and a flat patch, so SSIM meets edges, texture and zero variance."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    out = []
    for i in range(n):
        phase = torch.rand(3, 1, 1, generator=g)
        stripes = 0.5 + 0.5 * torch.sin(2 * torch.pi * (4 + i) * (x + phase))
        blobs = torch.rand(3, size // 8, size // 8, generator=g)
        blobs = torch.nn.functional.interpolate(blobs[None], size=(size, size), mode="bicubic")[0]
        img = (0.4 * stripes + 0.3 * y + 0.3 * blobs).clamp(0, 1)
        img[:, : size // 4, : size // 4] = 0.5  # flat corner
        out.append(img)
    return torch.stack(out).float()


@pytest.fixture(scope="module")
def pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Random and structured ground truth with noisy, shifted reconstructions at mixed sizes."""
    g = torch.Generator().manual_seed(0)
    structured = structured_images(3, 96, seed=1)
    random = torch.rand(2, 3, 96, 96, generator=g)
    gt = torch.cat([structured, random])
    recon = (0.6 * gt.roll(3, dims=-1) + 0.4 * torch.rand(gt.shape, generator=g)).clamp(0, 1)
    return gt, recon


def test_ssim_matches_skimage_float64_on_protocol_images(pairs) -> None:
    gt, recon = pairs
    gray_gt = rgb_to_gray(protocol_images(gt, MINDEYE).double())
    gray_recon = rgb_to_gray(protocol_images(recon, MINDEYE).double())
    assert gray_gt.shape[-2:] == (425, 425)
    ours = ssim_per_image(gray_gt, gray_recon).numpy()
    ref = np.array([skimage_ssim(a.numpy(), b.numpy()) for a, b in zip(gray_gt, gray_recon)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert ref.std() > 0.01  # the pairs really differ, so the comparison can fail


def test_score_pixel_metrics_matches_the_reference_pipeline(pairs) -> None:
    """The float32 pipeline (resize, rgb2gray) as MindEye ran it, against skimage on the same float32 arrays."""
    gt, recon = pairs
    scores = score_pixel_metrics(gt, recon)
    g = protocol_images(gt, MINDEYE).permute(0, 2, 3, 1).numpy()
    r = protocol_images(recon, MINDEYE).permute(0, 2, 3, 1).numpy()
    ssim_ref = [skimage_ssim(rgb2gray(b), rgb2gray(a)) for a, b in zip(g, r)]
    pix_ref = [np.corrcoef(a.transpose(2, 0, 1).ravel(), b.transpose(2, 0, 1).ravel())[0, 1] for a, b in zip(g, r)]
    assert scores["ssim"].dtype == np.float64 and scores["ssim"].shape == (len(gt),)
    np.testing.assert_allclose(scores["ssim"], ssim_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(scores["pixcorr"], pix_ref, rtol=0, atol=1e-9)


def test_pixcorr_matches_numpy_corrcoef() -> None:
    g = torch.Generator().manual_seed(3)
    a = torch.rand(5, 3, 20, 30, generator=g)
    b = 0.3 * a + torch.rand(5, 3, 20, 30, generator=g)
    ref = [np.corrcoef(x.numpy().ravel(), y.numpy().ravel())[0, 1] for x, y in zip(a, b)]
    np.testing.assert_allclose(pixcorr_per_image(a, b).numpy(), ref, rtol=0, atol=1e-12)
    assert torch.allclose(a, torch.rand(5, 3, 20, 30, generator=torch.Generator().manual_seed(3)))  # input untouched


def test_identical_images_score_one(pairs) -> None:
    gt = pairs[0][2:4]  # one structured, one random
    scores = score_pixel_metrics(gt, gt.clone())
    np.testing.assert_allclose(scores["pixcorr"], 1.0, atol=1e-12)
    np.testing.assert_allclose(scores["ssim"], 1.0, atol=1e-12)


def test_gt_and_recon_sizes_may_differ_and_batching_changes_nothing(pairs) -> None:
    # Equal to float rounding only: torch's float32 resize kernel rounds differently for a lone last image.
    gt, recon = pairs[0][:3], pairs[1][:3]
    small = torch.nn.functional.interpolate(recon, size=(64, 80), mode="bilinear").clamp(0, 1)
    whole = score_pixel_metrics(gt, small, batch_size=64)
    chunked = score_pixel_metrics(gt, small, batch_size=2)
    for name in ("pixcorr", "ssim"):
        np.testing.assert_allclose(whole[name], chunked[name], rtol=0, atol=1e-9)


def test_constant_reconstruction_scores_zero_pixcorr_with_a_warning(pairs, caplog) -> None:
    gt = pairs[0][:2]
    recon = torch.full_like(gt, 0.5)
    with caplog.at_level(logging.WARNING):
        scores = score_pixel_metrics(gt, recon)
    assert np.all(scores["pixcorr"] == 0.0)
    assert "constant" in caplog.text
    assert np.all(np.isfinite(scores["ssim"]))


def test_resize_is_torchvision_bilinear_without_antialias() -> None:
    x = torch.rand(2, 3, 425, 425, generator=torch.Generator().manual_seed(4))
    ours = resize_bilinear(x, 256)
    ref = TF.resize(x, [256, 256], interpolation=TF.InterpolationMode.BILINEAR, antialias=False)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)
    antialiased = TF.resize(x, [256, 256], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    assert (ours - antialiased).abs().max() > 1e-2  # the choice matters on noise


@pytest.mark.parametrize("shape", [(11, 11), (11, 37), (50, 23), (64, 64), (60, 76)])
def test_gaussian_filter_interior_matches_scipy_reflect_cropped(shape) -> None:
    x = torch.rand(2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    ref = np.stack([scipy.ndimage.gaussian_filter(m.numpy(), sigma=1.5, mode="reflect", truncate=3.5) for m in x])
    np.testing.assert_allclose(gaussian_filter_interior(x).numpy(), ref[:, 5:-5, 5:-5], rtol=0, atol=1e-13)
    down_columns = np.stack([scipy.ndimage.gaussian_filter1d(m.numpy(), 1.5, axis=0, truncate=3.5) for m in x])
    columns = gaussian_filter_interior(x, columns_only=True).numpy()
    np.testing.assert_allclose(columns, down_columns[:, 5:-5], rtol=0, atol=1e-13)


def test_small_and_rectangular_images_match_skimage() -> None:
    g = torch.Generator().manual_seed(6)
    a = torch.rand(3, 11, 40, dtype=torch.float64, generator=g)
    b = (a + 0.3 * torch.rand(3, 11, 40, dtype=torch.float64, generator=g)).clamp(0, 1)
    ref = [skimage_ssim(x.numpy(), y.numpy()) for x, y in zip(a, b)]
    np.testing.assert_allclose(ssim_per_image(a, b).numpy(), ref, rtol=0, atol=1e-12)


def test_cpu_workers_give_the_sequential_answer_and_restore_the_thread_count(pairs) -> None:
    gt, recon = (rgb_to_gray(protocol_images(t, MINDEYE)) for t in pairs)
    before = torch.get_num_threads()
    pooled = ssim_per_image(gt, recon), pixcorr_per_image(gt, recon)
    assert torch.get_num_threads() == before
    torch.set_num_threads(1)
    try:
        sequential = ssim_per_image(gt, recon), pixcorr_per_image(gt, recon)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(pooled, sequential):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_braindiffuser_column_ssim_equals_skimage_with_columns_as_channels(pairs) -> None:
    """scikit-image 0.17's `multichannel=True` on a gray image, as today's `channel_axis=-1`: 1-D SSIM per column."""
    from eval.metrics.protocol import BRAINDIFFUSER

    gt, recon = pairs
    gray_gt = rgb_to_gray(protocol_images(gt, BRAINDIFFUSER).double())
    gray_recon = rgb_to_gray(protocol_images(recon, BRAINDIFFUSER).double())
    assert gray_gt.shape[-2:] == (425, 425)
    ours = ssim_per_image(gray_gt, gray_recon, mode="columns").numpy()
    ref = [
        structural_similarity(
            a.numpy(),
            b.numpy(),
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        for a, b in zip(gray_gt, gray_recon)
    ]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    two_d = ssim_per_image(gray_gt, gray_recon).numpy()
    assert np.abs(two_d - ours).max() > 0.01  # the two definitions really differ on these pairs
    scores = score_pixel_metrics(gt, recon, protocol="braindiffuser")
    np.testing.assert_allclose(scores["ssim"], ref, rtol=0, atol=1e-5)  # float32 grey, as the pipeline runs it


@pytest.mark.parametrize("mode", ["2d", "columns"])
def test_batched_ssim_as_on_a_gpu_equals_image_by_image(pairs, mode) -> None:
    """Several images per filter step (the GPU path) give the per-image answer, in both SSIM modes."""
    from eval.metrics.pixel import _ssim_mean

    gt, recon = (rgb_to_gray(protocol_images(t, MINDEYE)).double() for t in pairs)
    constants = dict(sigma=1.5, truncate=3.5, c1=1e-4, c2=9e-4, columns=mode == "columns")
    batched = _ssim_mean(gt, recon, **constants)
    single = ssim_per_image(gt, recon, mode=mode)
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-12)

"""Pixel-level metrics as pure functions over image tensors: PixCorr and Gaussian SSIM.

SSIM reproduces scikit-image's `structural_similarity(gaussian_weights=True, use_sample_covariance=False)`
(>= 0.20) to float64 rounding: the same 11-tap Gaussian (scipy.ndimage's kernel and radius rule), the same
half-sample-symmetric border ("reflect" in scipy, "symmetric" in numpy), the same 5 px crop of the map.
The separable filter is a product with a banded matrix, split into column blocks so that the work stays
close to the 11 taps rather than the full image width (BLAS-speed on CPU, any CUDA device too).

On CPU, images are spread over one worker thread per torch thread, each running single-threaded ops: at
these sizes that is 2x faster than torch's intra-op threads, whose barriers also stall badly when other
processes compete for the cores.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from eval.errors import InputError

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)  # scikit-image rgb2gray (ITU-R BT.709 luma)
# Output columns per block of the banded filter matrix: measured fastest on a 2-core AVX-512 CPU at 425 px.
_BLOCK = 25
# Images per step on a GPU: five float64 425 px moment maps each, about 0.5 GB of temporaries per step.
_GPU_STEP = 64


def resize_bilinear(x: torch.Tensor, size: int | tuple[int, int], antialias: bool = False) -> torch.Tensor:
    """Bilinear resize of [N, C, H, W] images, half-pixel centres (align_corners=False).

    Args:
        x: Images.
        size: Output side (square) or (height, width).
        antialias: False reproduces torchvision <= 0.16 `Resize` on tensors.

    Returns:
        The resized images (`x` itself when the size already matches).
    """
    hw = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == hw:
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=antialias)


def rgb_to_gray(x: torch.Tensor, weights: tuple[float, float, float] = GRAY_WEIGHTS) -> torch.Tensor:
    """Luminance of [N, 3, H, W] images as [N, H, W], in `x`'s dtype (scikit-image `rgb2gray`)."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"rgb_to_gray: expected images [N, 3, H, W], found {list(x.shape)}")
    # A weighted sum in channel order, as numpy's `rgb @ coeffs` (and 5x faster than einsum here).
    return x[:, 0] * weights[0] + x[:, 1] * weights[1] + x[:, 2] * weights[2]


def pixcorr_per_image(gt: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """Pearson r between each ground-truth image and its reconstruction, over all values flattened together.

    Args:
        gt: Ground-truth images [N, ...].
        recon: Reconstructions, same shape as `gt`.

    Returns:
        float64 [N]; NaN where either image is constant (as numpy.corrcoef).
    """
    _check_pair(gt, recon, "pixcorr_per_image")
    return _per_image(_pearson, gt, recon)


def _pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # float64 and centred first: the sums run over ~540k values per image.
    n = x.shape[0]
    a = x.reshape(n, -1).to(torch.float64, copy=True)  # a copy, so centring in place leaves x alone
    b = y.reshape(n, -1).to(torch.float64, copy=True)
    a.sub_(a.mean(dim=1, keepdim=True))
    b.sub_(b.mean(dim=1, keepdim=True))
    return torch.linalg.vecdot(a, b) / torch.sqrt(torch.linalg.vecdot(a, a) * torch.linalg.vecdot(b, b))


def gaussian_window(sigma: float, truncate: float) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian kernel (float64), radius int(truncate * sigma + 0.5)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _symmetric_index(i: torch.Tensor, n: int) -> torch.Tensor:
    """Map indices outside [0, n) back inside by half-sample-symmetric reflection (d c b a | a b c d | d c)."""
    i = torch.remainder(i, 2 * n)
    return torch.where(i >= n, 2 * n - 1 - i, i)


@functools.lru_cache(maxsize=32)
def _filter_blocks(
    n: int, sigma: float, truncate: float, device: torch.device, interior: bool = False
) -> tuple[tuple[int, int, int, int, torch.Tensor, torch.Tensor], ...]:
    """Blocks of the [n, n] matrix A with y = x @ A filtering x's last axis (borders folded into A).

    Each entry is (lo, hi, a, b, A[lo:hi, a:b], its transpose): output columns a..b read inputs lo..hi only.
    With `interior`, only the outputs at least one radius from either end (those SSIM keeps) are made.
    """
    w = gaussian_window(sigma, truncate)
    radius = (len(w) - 1) // 2
    out_idx = torch.arange(n).repeat_interleave(len(w))
    in_idx = _symmetric_index(out_idx + torch.arange(-radius, radius + 1).repeat(n), n)
    matrix = torch.zeros(n, n, dtype=torch.float64)
    matrix.index_put_((in_idx, out_idx), w.repeat(n), accumulate=True)
    first, last = (radius, n - radius) if interior else (0, n)
    n_blocks = max(1, round((last - first) / _BLOCK))
    edges = [first + round(k * (last - first) / n_blocks) for k in range(n_blocks + 1)]
    blocks = []
    for a, b in zip(edges[:-1], edges[1:]):
        lo, hi = max(0, a - radius), min(n, b + radius)
        block = matrix[lo:hi, a:b].to(device)
        blocks.append((lo, hi, a, b, block.contiguous(), block.T.contiguous()))
    return tuple(blocks)


def gaussian_filter(
    x: torch.Tensor, sigma: float = 1.5, truncate: float = 3.5, columns_only: bool = False, interior: bool = False
) -> torch.Tensor:
    """Gaussian filter of [..., H, W] float64 maps, as scipy.ndimage.gaussian_filter(mode="reflect").

    Args:
        x: Maps.
        sigma: Standard deviation.
        truncate: Radius in sigmas.
        columns_only: Filter down each column only (a 1-D filter along H), as a per-channel filter of
            scikit-image treating the W columns as channels.
        interior: Return only the outputs at least one radius from the borders of each filtered axis (they
            never read a reflected value), [..., H - 2r, W - 2r] (columns_only: [..., H - 2r, W]).
    """
    height, width = x.shape[-2:]
    rows = _filter_blocks(height, float(sigma), float(truncate), x.device, interior)
    if not columns_only:
        cols = _filter_blocks(width, float(sigma), float(truncate), x.device, interior)
        x = torch.cat([x[..., lo:hi] @ block for lo, hi, _, _, block, _ in cols], dim=-1)
    return torch.cat([block_t @ x[..., lo:hi, :] for lo, hi, _, _, _, block_t in rows], dim=-2)


def ssim_per_image(
    gt_gray: torch.Tensor,
    recon_gray: torch.Tensor,
    *,
    sigma: float = 1.5,
    truncate: float = 3.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float = 1.0,
    mode: str = "2d",
) -> torch.Tensor:
    """Mean Gaussian SSIM per image pair, population covariance, 'radius' px borders of the map cropped.

    Args:
        gt_gray: Ground-truth gray images [N, H, W].
        recon_gray: Reconstructed gray images [N, H, W].
        sigma: Gaussian window standard deviation.
        truncate: Window radius in sigmas.
        k1: Luminance constant.
        k2: Contrast constant.
        data_range: Range of the input values.
        mode: "2d" (scikit-image >= 0.20 on gray images) or "columns": a 1-D SSIM down each column (the W
            columns taken as channels, as scikit-image 0.17's `multichannel=True` on a gray image did), the
            columns' means averaged; only the H axis is filtered and cropped.

    Returns:
        float64 [N] on the inputs' device.
    """
    if mode not in ("2d", "columns"):
        raise InputError(f"ssim_per_image: mode must be '2d' or 'columns', found {mode!r}")
    _check_pair(gt_gray, recon_gray, "ssim_per_image")
    if gt_gray.ndim != 3:
        raise InputError(f"ssim_per_image: expected gray images [N, H, W], found {list(gt_gray.shape)}")
    window = 2 * int(truncate * sigma + 0.5) + 1
    if min(gt_gray.shape[-2:] if mode == "2d" else gt_gray.shape[-2:-1]) < window:
        raise InputError(
            f"ssim_per_image: images must be at least {window} px on each side, found {list(gt_gray.shape[-2:])}"
        )
    constants = dict(
        sigma=sigma, truncate=truncate, c1=(k1 * data_range) ** 2, c2=(k2 * data_range) ** 2, columns=mode == "columns"
    )
    return _per_image(functools.partial(_ssim_mean, **constants), gt_gray, recon_gray)


def _ssim_mean(
    x: torch.Tensor, y: torch.Tensor, sigma: float, truncate: float, c1: float, c2: float, columns: bool
) -> torch.Tensor:
    # float64 throughout: the variances are differences of nearly equal moments (uxx - ux^2), and an error
    # of 1e-8 there moves a flat region's SSIM by 1e-5 (the denominator floor is c2 = 9e-4).
    x = x.double()
    y = y.double()
    # Four filtered maps, not five: only the sum of the two variances enters SSIM. Only the map's interior
    # (what the crop keeps) is computed; it never reads a reflected border value.
    moments = gaussian_filter(
        torch.stack([x, y, x * x + y * y, x * y]), sigma, truncate, columns_only=columns, interior=True
    )
    ux, uy, usq, uxy = moments.unbind(0)
    uxuy = ux * uy
    a1 = uxuy.mul(2).add_(c1)
    a2 = uxy.sub_(uxuy).mul_(2).add_(c2)  # 2 cov(x, y) + c2
    b1 = ux.square_().add_(uy.square_())  # ux^2 + uy^2
    b2 = usq.sub_(b1).add_(c2)  # var(x) + var(y) + c2
    ssim_map = a1.mul_(a2).div_(b1.add_(c1).mul_(b2))
    return ssim_map.mean(dim=(-2, -1))


@contextmanager
def single_threaded_ops() -> Iterator[None]:
    # Threads started inside inherit torch's thread count at their first op; the caller's count is restored.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _per_image(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """fn over image pairs: batches of _GPU_STEP on a GPU; on CPU one image per task, one task per core."""
    workers = torch.get_num_threads()
    if x.device.type != "cpu":
        return torch.cat([fn(x[i : i + _GPU_STEP], y[i : i + _GPU_STEP]) for i in range(0, x.shape[0], _GPU_STEP)])
    pairs = [(x[i : i + 1], y[i : i + 1]) for i in range(x.shape[0])]
    if workers == 1 or len(pairs) == 1:
        return torch.cat([fn(a, b) for a, b in pairs])
    with single_threaded_ops(), ThreadPoolExecutor(max_workers=workers) as pool:
        return torch.cat(list(pool.map(lambda pair: fn(*pair), pairs)))


def _check_pair(a: torch.Tensor, b: torch.Tensor, where: str) -> None:
    if a.shape != b.shape:
        raise InputError(f"{where}: ground truth and reconstruction shapes differ: {list(a.shape)} vs {list(b.shape)}")
    if a.shape[0] == 0:
        raise InputError(f"{where}: no images")

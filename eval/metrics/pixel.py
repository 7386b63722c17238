"""Pixel-level metrics as pure functions over image tensors: PixCorr and Gaussian SSIM.

SSIM reproduces scikit-image's `structural_similarity(gaussian_weights=True, use_sample_covariance=False)`
(>= 0.20) to float64 rounding: the same 11-tap Gaussian (scipy.ndimage's kernel and radius rule), the same
half-sample-symmetric border ("reflect" in scipy, "symmetric" in numpy), the same 5 px crop of the map.
Only the map's interior, which the crop keeps and which never reads a reflected border value, is computed.
Each 1-D pass of the separable filter is one or two products with a block-banded matrix over strided windows
of a reused buffer (BLAS speed on CPU, any CUDA device too), so a pair of images costs a handful of large ops.

On CPU, images are spread over one worker thread per torch thread, each running single-threaded ops: at
these sizes that is 2x faster than torch's intra-op threads, whose barriers also stall badly when other
processes compete for the cores.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

from eval.errors import InputError

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)  # scikit-image rgb2gray (ITU-R BT.709 luma)
# Outputs per block of the banded filter along H and along W (each >= 2r): measured fastest for 425 px maps
# on a 2-core AVX-512 CPU.
_BLOCK_H = 10
_BLOCK_W = 10
# Images per step on a GPU: three buffers of four float64 425 px maps each, about 0.3 GB per step.
_GPU_STEP = 16
# Rows of the SSIM map combined per step: four filtered maps and two scratch bands stay within a 2 MB cache.
_TAIL_ROWS = 48


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
    return map_pairs(_pearson, gt, recon)


def _pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # float64 and centred first: the sums run over ~540k values per image. Both images of a pair are centred
    # in one reused buffer, and one product gives all three sums of products (aa, ab, bb).
    n = x.shape[0]
    shape = (n, 2, x[0].numel())
    pair = _reused("pearson", (shape, x.device), lambda: torch.empty(shape, dtype=torch.float64, device=x.device))
    pair[:, 0].copy_(_values(x))
    pair[:, 1].copy_(_values(y))
    pair.sub_(pair.mean(dim=2, keepdim=True))
    gram = torch.bmm(pair, pair.transpose(1, 2))
    return gram[:, 0, 1] / torch.sqrt(gram[:, 0, 0] * gram[:, 1, 1])


def _values(images: torch.Tensor) -> torch.Tensor:
    """Each image's values as one row [N, D], in memory order (a view for channels-last and contiguous
    images): Pearson r only needs both images of a pair in the same order."""
    if images.ndim == 4 and images.is_contiguous(memory_format=torch.channels_last):
        images = images.permute(0, 2, 3, 1)
    return images.reshape(images.shape[0], -1)


_per_thread = threading.local()  # each thread's reusable buffers and plans, by purpose


def _reused(purpose: str, key: tuple, make: Callable[[], Any]) -> Any:
    """This thread's object for `purpose`, made anew (by `make`) only when `key` differs from the last call's.

    Made outside inference mode: normal tensors can be reused both in and outside it.
    """
    cached = getattr(_per_thread, purpose, None)
    if cached is None or cached[0] != key:
        with torch.inference_mode(False):
            cached = (key, make())
        setattr(_per_thread, purpose, cached)
    return cached[1]


def gaussian_window(sigma: float, truncate: float) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian kernel (float64), radius int(truncate * sigma + 0.5)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


@functools.lru_cache(maxsize=8)
def _band(sigma: float, truncate: float, block: int, device: torch.device) -> torch.Tensor:
    """The filter as a [block, block + 2r] band matrix: output o reads inputs o..o+2r."""
    w = gaussian_window(sigma, truncate)
    band = torch.zeros(block, block + len(w) - 1, dtype=torch.float64)
    for row in range(block):
        band[row, row : row + len(w)] = w
    return band.to(device)


class _FilterPlan:
    """Buffers and shapes to filter n stacks of m maps [H, W] down to their interior, [H - 2r, W - 2r].

    Each 1-D pass is a block-banded product: `block` outputs read `block` + 2r inputs, in windows that
    start every `block` inputs, taken as strided views of one buffer (rows past the image are padding whose
    outputs are dropped), never copied. The buffers are reused from call to call.
    """

    def __init__(
        self, n: int, m: int, height: int, width: int, sigma: float, truncate: float, columns: bool, device
    ) -> None:
        self.radius = int(truncate * sigma + 0.5)
        device = torch.device(device)
        self.band_h = _band(sigma, truncate, _BLOCK_H, device)
        self.band_w = _band(sigma, truncate, _BLOCK_W, device)
        self.n, self.m, self.height, self.width, self.columns = n, m, height, width, columns
        self.blocks_h = -(-(height - 2 * self.radius) // _BLOCK_H)
        self.row = -(-width // _BLOCK_W) * _BLOCK_W  # row length >= width: the W windows tile each row exactly
        self.rows_in = self.blocks_h * _BLOCK_H + 2 * self.radius
        self.rows_out = self.blocks_h * _BLOCK_H
        slack = 2 * self.radius  # the last windows read past the last row (for outputs that are dropped)
        f64 = dict(dtype=torch.float64, device=device)
        self.maps = torch.zeros(n * self.rows_in * m * self.row + slack, **f64)
        self.mid = torch.zeros(n * self.rows_out * m * self.row + slack, **f64)
        self.out = None if columns else torch.empty(n * self.rows_out * m * self.row, **f64)
        self.scratch = torch.empty(2, n, min(_TAIL_ROWS, self.rows_out), self.row, **f64)

    def inputs(self) -> torch.Tensor:
        """The maps to fill: [n, H, m, W] (a view of the padded buffer)."""
        grid = self.maps[: -2 * self.radius].view(self.n, self.rows_in, self.m, self.row)
        return grid[:, : self.height, :, : self.width]

    def run(self) -> torch.Tensor:
        """Filter the maps: [n, H - 2r, m, W - 2r] (columns: [n, H - 2r, m, W], only H filtered)."""
        width = self.m * self.row
        windows = self.maps.as_strided(
            (self.n, self.blocks_h, _BLOCK_H + 2 * self.radius, width),
            (self.rows_in * width, _BLOCK_H * width, width, 1),
        )
        mid = self.mid[: -2 * self.radius].view(self.n, self.blocks_h, _BLOCK_H, width)
        torch.matmul(self.band_h, windows, out=mid)
        inner_h = self.height - 2 * self.radius
        if self.columns:
            return mid.view(self.n, self.rows_out, self.m, self.row)[:, :inner_h, :, : self.width]
        # Along W the windows overlap inside each row; every other one makes a column-major matrix that BLAS
        # takes as it is (leading dimension 2 block >= block + 2r): even and odd windows, two products.
        k = _BLOCK_W + 2 * self.radius
        count_all = self.out.numel() // _BLOCK_W
        for first in (0, 1):
            count = (count_all - first + 1) // 2
            source = self.mid.as_strided((k, count), (1, 2 * _BLOCK_W), first * _BLOCK_W)
            target = self.out.as_strided((_BLOCK_W, count), (1, 2 * _BLOCK_W), first * _BLOCK_W)
            torch.mm(self.band_w, source, out=target)
        filtered = self.out.view(self.n, self.rows_out, self.m, self.row)
        return filtered[:, :inner_h, :, : self.width - 2 * self.radius]


def gaussian_filter_interior(
    x: torch.Tensor, sigma: float = 1.5, truncate: float = 3.5, columns_only: bool = False
) -> torch.Tensor:
    """The interior of scipy.ndimage.gaussian_filter on [N, H, W] float64 maps: the outputs at least one radius
    from the borders, [N, H - 2r, W - 2r] (columns_only: filtered down each column only, [N, H - 2r, W])."""
    plan = _FilterPlan(x.shape[0], 1, *x.shape[-2:], float(sigma), float(truncate), columns_only, x.device)
    plan.inputs()[:, :, 0].copy_(x)
    return plan.run()[:, :, 0].clone()


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
    constants = dict(sigma=float(sigma), truncate=float(truncate), c1=(k1 * data_range) ** 2, c2=(k2 * data_range) ** 2)
    return map_pairs(functools.partial(_ssim_mean, columns=mode == "columns", **constants), gt_gray, recon_gray)


def _ssim_mean(
    x: torch.Tensor, y: torch.Tensor, sigma: float, truncate: float, c1: float, c2: float, columns: bool
) -> torch.Tensor:
    # float64 throughout: the variances are differences of nearly equal moments (uxx - ux^2), and an error
    # of 1e-8 there moves a flat region's SSIM by 1e-5 (the denominator floor is c2 = 9e-4).
    key = (x.shape[0], 4, *x.shape[-2:], sigma, truncate, columns, x.device)
    plan = _reused("ssim", key, lambda: _FilterPlan(*key))
    maps = plan.inputs()
    a, b = maps[:, :, 0], maps[:, :, 1]
    a.copy_(x)
    b.copy_(y)
    # Four maps, not five (only the sum of the variances enters SSIM), with the constants added before
    # filtering (the window sums to 1), so that fewer steps follow it.
    constant = functools.partial(torch.tensor, dtype=a.dtype, device=a.device)
    torch.addcmul(constant(c2 + c1), a, a, out=maps[:, :, 2]).addcmul_(b, b)
    torch.addcmul(constant((c2 + c1) / 2), a, b, out=maps[:, :, 3])
    filtered = plan.run()  # [n, h, 4, w]: ux, uy, uxx + uyy + c2 + c1, uxy + (c2 + c1)/2
    total = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    # Bands of rows small enough to stay in the CPU's cache through the steps that combine the maps.
    for start in range(0, filtered.shape[1], _TAIL_ROWS):
        ux, uy, squares, product = filtered[:, start : start + _TAIL_ROWS].unbind(2)
        luminance, denominator = plan.scratch[:, :, : ux.shape[1], : ux.shape[2]].unbind(0)
        torch.addcmul(constant(c1 / 2), ux, uy, out=luminance)  # ux uy + c1/2
        numerator = luminance.mul_(product.sub_(luminance))  # (ux uy + c1/2)(cov + c2/2): a quarter of SSIM's
        torch.addcmul(constant(c1), ux, ux, out=denominator).addcmul_(uy, uy)  # ux^2 + uy^2 + c1
        denominator.mul_(squares.sub_(denominator))  # times var x + var y + c2
        total += numerator.div_(denominator).sum(dim=(-2, -1))
    return total.mul_(4 / (filtered.shape[1] * filtered.shape[3]))


@contextmanager
def single_threaded_ops() -> Iterator[None]:
    # Threads started inside inherit torch's thread count at their first op; the caller's count is restored.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def map_pairs(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """fn over image pairs, results concatenated: batches of _GPU_STEP on a GPU; on CPU one image per task,
    one task per core (inside a task, torch runs single-threaded and nested calls run sequentially)."""
    workers = torch.get_num_threads()
    if x.device.type != "cpu":
        return torch.cat([fn(x[i : i + _GPU_STEP], y[i : i + _GPU_STEP]) for i in range(0, x.shape[0], _GPU_STEP)])
    pairs = [(x[i : i + 1], y[i : i + 1]) for i in range(x.shape[0])]
    # Always single-threaded ops, also for one pair: some kernels (the bilinear resize) round differently
    # with more threads, and a pair's scores must not depend on how many others came with it.
    with single_threaded_ops():
        if workers == 1 or len(pairs) == 1:
            return torch.cat([fn(a, b) for a, b in pairs])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return torch.cat(list(pool.map(lambda pair: fn(*pair), pairs)))


def _check_pair(a: torch.Tensor, b: torch.Tensor, where: str) -> None:
    if a.shape != b.shape:
        raise InputError(f"{where}: ground truth and reconstruction shapes differ: {list(a.shape)} vs {list(b.shape)}")
    if a.shape[0] == 0:
        raise InputError(f"{where}: no images")

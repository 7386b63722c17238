"""A PNG grid for eyeballing reconstructions: ground truth on top, one row per reconstruction set."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from eval.atomic import atomic_path
from eval.errors import InputError

log = logging.getLogger(__name__)

_LABEL_WIDTH = 120
_BACKGROUND = (255, 255, 255)
_TEXT = (20, 20, 20)


def _tiles(images: torch.Tensor, n: int, cell: int, name: str) -> list[Image.Image]:
    if images.ndim != 4 or images.shape[1] != 3:
        raise InputError(f"{name}: expected images [N, 3, H, W], found {list(images.shape)}")
    if images.shape[0] < n:
        raise InputError(f"{name}: expected at least {n} images for the sample grid, found {images.shape[0]}")
    u8 = images[:n].detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(np.ascontiguousarray(tile)).resize((cell, cell), Image.BILINEAR) for tile in u8]


def save_sample_grid(
    gt: torch.Tensor,
    recon_by_name: Mapping[str, torch.Tensor],
    path: str | os.PathLike[str],
    n: int = 8,
    cell: int = 128,
) -> Path:
    """Write a PNG: the first `n` ground-truth images in the top row, each named reconstruction set below.

    Args:
        gt: Ground-truth images [N, 3, H, W] in [0, 1].
        recon_by_name: Row label -> reconstructions [N', 3, H', W'] in [0, 1], in the same image order.
        path: Where the PNG goes (written atomically).
        n: Images per row (fewer if `gt` has fewer).
        cell: Side of each square tile in pixels.

    Returns:
        `path`.
    """
    n = min(n, gt.shape[0])
    rows = [("ground truth", _tiles(gt, n, cell, "gt"))]
    rows += [(label, _tiles(images, n, cell, f"reconstructions '{label}'")) for label, images in recon_by_name.items()]
    canvas = Image.new("RGB", (_LABEL_WIDTH + n * cell, len(rows) * cell), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, (label, tiles) in enumerate(rows):
        # PIL's built-in font: no font file to find; long labels are cut to fit the label column.
        draw.text((4, r * cell + cell // 2 - 6), label[:18], fill=_TEXT)
        for c, tile in enumerate(tiles):
            canvas.paste(tile, (_LABEL_WIDTH + c * cell, r * cell))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    log.info("sample grid: %s", path)
    return Path(path)

"""The sample grid PNG: ground truth on top, one row per reconstruction set, written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from eval.errors import InputError
from eval.visual import save_sample_grid


def test_grid_layout_and_content(tmp_path: Path) -> None:
    gt = torch.zeros(10, 3, 40, 40)
    gt[:, 0] = 1.0  # red
    recon = {"blue": torch.zeros(10, 3, 50, 30), "green": torch.zeros(10, 3, 40, 40)}
    recon["blue"][:, 2] = 1.0
    recon["green"][:, 1] = 1.0
    path = save_sample_grid(gt, recon, tmp_path / "grid.png", n=8, cell=32)
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape == (3 * 32, 120 + 8 * 32, 3)
    centre = 120 + 16
    assert tuple(image[16, centre]) == (255, 0, 0)
    assert tuple(image[48, centre]) == (0, 0, 255)
    assert tuple(image[80, centre + 7 * 32]) == (0, 255, 0)
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_too_few_reconstructions_is_an_input_error(tmp_path: Path) -> None:
    message = "reconstructions 'r': expected at least 4 images for the sample grid, found 2"
    with pytest.raises(InputError, match=message):
        save_sample_grid(torch.rand(4, 3, 8, 8), {"r": torch.rand(2, 3, 8, 8)}, tmp_path / "g.png", n=4)
    assert not (tmp_path / "g.png").exists()

"""Brain maps (paper section IV-E): per voxel, the L2 norm of its weights in a module's first linear layer,
projected into the subject's functional volume; written as NIfTI (the subject's affine) and as PNG slice montages.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from eval.atomic import atomic_path
from eval.data.subject import SubjectData
from eval.errors import InputError

MODULES = ("structural", "semantic")


def voxel_importance(layer: torch.nn.Linear) -> np.ndarray:
    """L2 norm of each input column of `layer` (one value per voxel it reads)."""
    return layer.weight.detach().float().norm(dim=0).cpu().numpy()


def to_volume(values: np.ndarray, columns: np.ndarray, data: SubjectData) -> np.ndarray:
    """A float32 volume of the subject's shape: `values[k]` at the voxel of data column `columns[k]`, 0 elsewhere."""
    if values.shape[0] != len(columns):
        raise InputError(f"brain map: expected {len(columns)} voxel values, found {values.shape[0]}")
    volume = np.zeros(tuple(data.volume_shape), dtype=np.float32)
    xyz = np.asarray(data.voxel_xyz)[np.asarray(columns)]
    volume[xyz[:, 0], xyz[:, 1], xyz[:, 2]] = values
    return volume


def _hot(x: np.ndarray) -> np.ndarray:
    """A black-red-yellow-white colour map of values in [0, 1] -> uint8 RGB."""
    rgb = np.stack([np.clip(3 * x, 0, 1), np.clip(3 * x - 1, 0, 1), np.clip(3 * x - 2, 0, 1)], axis=-1)
    return (rgb * 255).round().astype(np.uint8)


def display_scale(volume: np.ndarray) -> np.ndarray:
    """Values for display in [0, 1]: voxels of the map from 0.15 (its 1st percentile) to 1 (its 99th), 0 outside.

    Weight norms vary by a few tens of percent around a common level, so a scale from zero would show a flat map.
    """
    inside = volume != 0
    if not inside.any():
        return np.zeros_like(volume)
    lo, hi = np.percentile(volume[inside], [1, 99])
    scaled = np.clip((volume - lo) / max(hi - lo, 1e-12), 0, 1)
    return np.where(inside, 0.15 + 0.85 * scaled, 0.0).astype(np.float32)


def montage(volume: np.ndarray, scale: int = 4) -> np.ndarray:
    """Axial slices (along the third axis) that hold any non-zero voxel, tiled in a near-square grid: uint8 RGB."""
    shown = display_scale(volume)
    slices = [shown[:, :, k] for k in range(shown.shape[2]) if volume[:, :, k].any()] or [shown[:, :, 0]]
    cols = math.ceil(math.sqrt(len(slices)))
    rows = math.ceil(len(slices) / cols)
    height, width = volume.shape[1], volume.shape[0]
    canvas = np.zeros((rows * (height + 1), cols * (width + 1)), dtype=np.float32)
    for k, plane in enumerate(slices):
        r, c = divmod(k, cols)
        # Rows of the image run along Y (flipped so anterior is up), columns along X.
        canvas[r * (height + 1) : r * (height + 1) + height, c * (width + 1) : c * (width + 1) + width] = plane.T[::-1]
    image = _hot(canvas)
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


def write_brain_maps(decoder, data: SubjectData, folder: Path) -> dict[str, Path]:
    """NIfTI and PNG brain maps of both modules of a fitted HAVIR decoder; returns {artifact name: path}."""
    import nibabel as nib
    from PIL import Image

    folder = Path(folder)
    out: dict[str, Path] = {}
    layers = decoder.model.input_layers()
    for name in MODULES:
        volume = to_volume(voxel_importance(layers[name]), decoder.columns[name], data)
        nifti = folder / f"brainmap_{name}.nii.gz"
        with atomic_path(nifti) as tmp:
            nib.save(nib.Nifti1Image(volume, np.asarray(data.affine, dtype=np.float64)), str(tmp))
        png = folder / f"brainmap_{name}.png"
        with atomic_path(png) as tmp:
            Image.fromarray(montage(volume)).save(tmp, format="PNG")
        out[f"brainmap_{name}_nifti"] = nifti
        out[f"brainmap_{name}"] = png
    return out

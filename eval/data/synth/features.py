"""What the simulated voxels respond to: low-level image feature maps and scene-graph semantics.

Structural voxels read `pixel_features` through their receptive fields; semantic voxels read
`semantic_features`. The two share nothing but the scene, which keeps the voxel groups separable. Semantic
features are what a scene means, not how it looks: categories, counts and relations, the same whatever the
objects' colours, exact positions or backdrop.
"""

from __future__ import annotations

import numpy as np

from eval.data.synth.scenes import CATEGORIES, Scene

CHANNELS = ("luminance", "red_green", "blue_yellow", "contrast")
RELATION_GROUPS = (("left of", "right of"), ("above", "below"), ("next to",))
SEMANTIC_FEATURES = (
    tuple(f"present_{c}" for c in CATEGORIES)
    + tuple(f"count_{c}" for c in CATEGORIES)
    + ("n_objects",)
    + ("relations_horizontal", "relations_vertical", "relations_next_to")
    + tuple(f"largest_{c}" for c in CATEGORIES)
)


def pixel_features(images: np.ndarray, grid: int, batch: int = 512) -> np.ndarray:
    """Channel maps averaged over a grid x grid tiling of each image.

    Args:
        images: uint8 (n, S, S, 3); S must be a multiple of `grid`.
        grid: Tiles per side.
        batch: Images per step (bounds memory).

    Returns:
        float32 (n, len(CHANNELS), grid * grid): luminance, R-G and B-Y opponency in [0, 1] units, and
        contrast energy (gradient magnitude of luminance).
    """
    n, size = images.shape[0], images.shape[1]
    block = size // grid
    out = np.empty((n, len(CHANNELS), grid * grid), dtype=np.float32)
    for start in range(0, n, batch):
        rgb = images[start : start + batch].astype(np.float32) / 255.0
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        lum = (r + g + b) / 3.0
        gx = np.zeros_like(lum)
        gy = np.zeros_like(lum)
        gx[:, :, 1:] = np.diff(lum, axis=2)
        gy[:, 1:, :] = np.diff(lum, axis=1)
        maps = np.stack([lum, r - g, b - 0.5 * (r + g), np.sqrt(gx * gx + gy * gy)], axis=1)
        m = maps.shape[0]
        pooled = maps.reshape(m, len(CHANNELS), grid, block, grid, block).mean(axis=(3, 5))
        out[start : start + m] = pooled.reshape(m, len(CHANNELS), grid * grid)
    return out


def semantic_features(scenes: list[Scene]) -> np.ndarray:
    """float32 (n, len(SEMANTIC_FEATURES)): categories, counts, relations, the largest object's category."""
    n_cat = len(CATEGORIES)
    index = {c: i for i, c in enumerate(CATEGORIES)}
    out = np.zeros((len(scenes), len(SEMANTIC_FEATURES)), dtype=np.float32)
    rel_at = 2 * n_cat + 1
    largest_at = rel_at + len(RELATION_GROUPS)
    for row, scene in enumerate(scenes):
        for obj in scene.objects:
            out[row, n_cat + index[obj.category]] += 1
        out[row, :n_cat] = out[row, n_cat : 2 * n_cat] > 0
        out[row, 2 * n_cat] = len(scene.objects)
        for rel in scene.relations:
            group = next(i for i, g in enumerate(RELATION_GROUPS) if rel.predicate in g)
            out[row, rel_at + group] += 1
        largest = max(scene.objects, key=lambda o: o.size)
        out[row, largest_at + index[largest.category]] = 1
    return out

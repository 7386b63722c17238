"""Draw a scene graph into an RGB image with numpy masks.

Each object is drawn inside its own bounding box, in coordinates (u, v) measured in units of the object's
size from its centre (u right, v down), so shapes keep their proportions at any image size.

Every category has the same silhouette and about the same share of ink: only the arrangement of its parts,
a few pixels across, tells a cat from a car, so a blur that removes them leaves a blob of the object's colour.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from eval.data.synth.scenes import COLOURS, Background, Scene, SceneObject

Rgb = tuple[float, float, float]
_DARK: Rgb = (25.0, 25.0, 30.0)
_LIGHT: Rgb = (240.0, 240.0, 235.0)


@lru_cache(maxsize=8)
def _axis(size: int) -> np.ndarray:
    """Pixel centres as fractions of the image side."""
    return ((np.arange(size, dtype=np.float32) + 0.5) / size).astype(np.float32)


def render(scene: Scene, size: int) -> np.ndarray:
    """The stimulus of `scene` as uint8 (size, size, 3)."""
    img = _background(scene.background, size)
    for obj in scene.objects:
        _draw_object(img, obj, size)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _background(bg: Background, size: int) -> np.ndarray:
    ax = _axis(size)
    y, x = ax[:, None], ax[None, :]
    img = np.empty((size, size, 3), dtype=np.float32)
    upper = ax < bg.horizon
    img[upper] = bg.upper
    img[~upper] = bg.lower
    if bg.kind in ("outdoor", "water"):
        # Sky brightens towards the horizon.
        img[upper] *= (0.9 + 0.15 * ax[upper] / max(bg.horizon, 1e-3))[:, None, None]
    gain = np.ones((size, size), dtype=np.float32)
    f = bg.texture_freq
    if bg.texture == "stripes":
        if bg.kind == "water":
            wave = np.sin(2 * np.pi * (2 * f * y + 0.15 * np.sin(2 * np.pi * 3 * x)))
        elif bg.kind == "indoor":
            wave = np.sin(2 * np.pi * 1.5 * f * y)
        else:
            wave = np.sin(2 * np.pi * f * (x + y))
        gain = gain + 0.12 * np.sign(wave)
    elif bg.texture == "noise":
        gain = gain + 0.08 * np.random.default_rng(bg.texture_seed).standard_normal((size, size), dtype=np.float32)
    elif bg.texture == "checker":
        parity = (np.floor(x * f) + np.floor(y * f)) % 2
        gain = gain + 0.12 * (2 * parity - 1)
    textured = np.ones((size, 1), dtype=bool) if bg.kind == "plain" else ~upper[:, None]
    img *= np.where(textured, gain, 1.0)[:, :, None]
    return img


def _draw_object(img: np.ndarray, obj: SceneObject, size: int) -> None:
    ax = _axis(size)
    half = 0.55 * obj.size  # every part lies within |u|, |v| <= 0.5 (plus a margin)
    cols = np.flatnonzero(np.abs(ax - obj.x) <= half)
    rows = np.flatnonzero(np.abs(ax - obj.y) <= half)
    if cols.size == 0 or rows.size == 0:
        return
    region = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    u = ((ax[cols] - obj.x) / obj.size)[None, :]
    v = ((ax[rows] - obj.y) / obj.size)[:, None]
    colour = tuple(float(c) for c in COLOURS[obj.colour])
    body = body_mask(u, v)
    region[body] = colour
    region[_PARTS[obj.category](u, v) & body] = ink_for(colour)  # the parts: 24-27% of the body in every category


def body_mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The silhouette every category shares: a rounded square (a superellipse) of half-side 0.45."""
    return (u / 0.45) ** 4 + (v / 0.45) ** 4 <= 1.0


def ink_for(rgb: Rgb) -> Rgb:
    """Dark ink on a light body, light ink on a dark one, so the parts always show."""
    return _DARK if sum(rgb) > 330 else _LIGHT


def _rect(u: np.ndarray, v: np.ndarray, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


def _disk(u: np.ndarray, v: np.ndarray, cu: float, cv: float, r: float) -> np.ndarray:
    return (u - cu) ** 2 + (v - cv) ** 2 <= r * r


def _triangle(u: np.ndarray, v: np.ndarray, cu: float, top: float, base: float, half_width: float) -> np.ndarray:
    """Upward-pointing triangle: apex at (cu, top), base from cu - half_width to cu + half_width at v = base."""
    t = (v - top) / (base - top)
    return (t >= 0) & (t <= 1) & (np.abs(u - cu) <= half_width * t)


# Each category's parts, in the object's own units (|u|, |v| <= 0.45): strokes about 0.1 wide, a few pixels at
# the stimulus size, so they survive a mild blur and vanish under a strong one.
def _ball(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ring = _disk(u, v, 0, 0, 0.34) & ~_disk(u, v, 0, 0, 0.24)
    return ring | _disk(u, v, 0, 0, 0.08)


def _box(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (_rect(u, v, -0.07, -0.4, 0.07, 0.4) | _rect(u, v, -0.4, -0.07, 0.4, 0.07))


def _house(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    roof = _triangle(u, v, 0, -0.4, -0.06, 0.36)
    return roof | _rect(u, v, -0.08, 0.12, 0.08, 0.4) | _rect(u, v, 0.16, 0.02, 0.32, 0.16)


def _tree(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    branches = _rect(u, v, -0.14, -0.3, 0.14, -0.2) | _rect(u, v, -0.24, -0.1, 0.24, 0.0)
    branches |= _rect(u, v, -0.34, 0.1, 0.34, 0.2)
    return branches | _rect(u, v, -0.05, -0.4, 0.05, 0.4)


def _car(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    wheels = _disk(u, v, -0.22, 0.25, 0.12) | _disk(u, v, 0.22, 0.25, 0.12)
    return wheels | _rect(u, v, -0.3, -0.3, 0.3, -0.12)


def _person(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    head = _disk(u, v, 0, -0.26, 0.11)
    limbs = _rect(u, v, -0.06, -0.16, 0.06, 0.14) | _rect(u, v, -0.34, -0.11, 0.34, -0.01)
    legs = _rect(u, v, -0.17, 0.14, -0.07, 0.4) | _rect(u, v, 0.07, 0.14, 0.17, 0.4)
    return head | limbs | legs


def _cat(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    ears = _triangle(u, v, -0.22, -0.42, -0.16, 0.12) | _triangle(u, v, 0.22, -0.42, -0.16, 0.12)
    eyes = _disk(u, v, -0.15, -0.02, 0.095) | _disk(u, v, 0.15, -0.02, 0.095)
    whiskers = _rect(u, v, -0.38, 0.14, -0.1, 0.2) | _rect(u, v, 0.1, 0.14, 0.38, 0.2)
    whiskers |= _rect(u, v, -0.38, 0.26, -0.1, 0.32) | _rect(u, v, 0.1, 0.26, 0.38, 0.32)
    return ears | eyes | whiskers


def _sign(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    lines = _rect(u, v, -0.32, -0.3, 0.32, -0.2) | _rect(u, v, -0.32, -0.06, 0.28, 0.04)
    return lines | _rect(u, v, -0.32, 0.18, 0.26, 0.28)


_PARTS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "ball": _ball,
    "box": _box,
    "house": _house,
    "tree": _tree,
    "car": _car,
    "person": _person,
    "cat": _cat,
    "sign": _sign,
}

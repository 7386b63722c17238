"""Draw a scene graph into an RGB image with numpy masks.

Each object is drawn inside its own bounding box, in coordinates (u, v) measured in units of the object's
size from its centre (u right, v down), so shapes keep their proportions at any image size.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from eval.data.synth.scenes import COLOURS, Background, Scene, SceneObject

Rgb = tuple[float, float, float]
_SKIN: Rgb = (225.0, 185.0, 150.0)
_DARK: Rgb = (25.0, 25.0, 30.0)
_TRUNK: Rgb = (105.0, 70.0, 40.0)
_GLASS: Rgb = (170.0, 210.0, 235.0)
_POLE: Rgb = (110.0, 110.0, 115.0)
_TROUSERS: Rgb = (50.0, 55.0, 95.0)


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
    for mask, rgb in _PARTS[obj.category](u, v, colour):
        region[mask] = rgb


def _rect(u: np.ndarray, v: np.ndarray, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


def _disk(u: np.ndarray, v: np.ndarray, cu: float, cv: float, r: float) -> np.ndarray:
    return (u - cu) ** 2 + (v - cv) ** 2 <= r * r


def _ellipse(u: np.ndarray, v: np.ndarray, cu: float, cv: float, ru: float, rv: float) -> np.ndarray:
    return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 <= 1.0


def _triangle(u: np.ndarray, v: np.ndarray, cu: float, top: float, base: float, half_width: float) -> np.ndarray:
    """Upward-pointing triangle: apex at (cu, top), base from cu - half_width to cu + half_width at v = base."""
    t = (v - top) / (base - top)
    return (t >= 0) & (t <= 1) & (np.abs(u - cu) <= half_width * t)


def _shade(rgb: Rgb, factor: float) -> Rgb:
    """Darker (factor < 1) or mixed towards white (factor > 1)."""
    if factor <= 1:
        return (rgb[0] * factor, rgb[1] * factor, rgb[2] * factor)
    w = min(factor - 1, 1.0)
    return tuple(c + (255 - c) * w for c in rgb)  # type: ignore[return-value]


Parts = list[tuple[np.ndarray, Rgb]]


def _ball(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [(_disk(u, v, 0, 0, 0.45), c), (_disk(u, v, -0.15, -0.15, 0.12), _shade(c, 1.4))]


def _box(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.42, -0.3, 0.42, 0.45), c),
        (_rect(u, v, -0.42, -0.45, 0.42, -0.3), _shade(c, 1.3)),
        (_rect(u, v, 0.28, -0.3, 0.42, 0.45), _shade(c, 0.7)),
    ]


def _house(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.4, -0.05, 0.4, 0.5), c),
        (_triangle(u, v, 0, -0.5, -0.05, 0.5), _shade(c, 0.55)),
        (_rect(u, v, -0.1, 0.2, 0.06, 0.5), _TRUNK),
        (_rect(u, v, 0.14, 0.05, 0.3, 0.2), _GLASS),
    ]


def _tree(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.07, 0.05, 0.07, 0.5), _TRUNK),
        (_disk(u, v, -0.14, 0.0, 0.22) | _disk(u, v, 0.14, 0.0, 0.22), _shade(c, 0.8)),
        (_disk(u, v, 0, -0.17, 0.3), c),
    ]


def _car(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.5, -0.05, 0.5, 0.25), c),
        (_rect(u, v, -0.25, -0.28, 0.25, -0.05), _shade(c, 0.85)),
        (_rect(u, v, -0.2, -0.24, 0.2, -0.09), _GLASS),
        (_disk(u, v, -0.3, 0.25, 0.12) | _disk(u, v, 0.3, 0.25, 0.12), _DARK),
    ]


def _person(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.12, 0.12, -0.02, 0.5) | _rect(u, v, 0.02, 0.12, 0.12, 0.5), _TROUSERS),
        (_rect(u, v, -0.16, -0.22, 0.16, 0.14), c),
        (_rect(u, v, -0.25, -0.2, -0.17, 0.08) | _rect(u, v, 0.17, -0.2, 0.25, 0.08), c),
        (_disk(u, v, 0, -0.36, 0.13), _SKIN),
    ]


def _cat(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    return [
        (_rect(u, v, -0.48, -0.1, -0.38, 0.2), c),
        (_rect(u, v, -0.3, 0.25, -0.22, 0.45) | _rect(u, v, 0.1, 0.25, 0.18, 0.45), _shade(c, 0.8)),
        (_ellipse(u, v, -0.05, 0.2, 0.36, 0.16), c),
        (_triangle(u, v, 0.22, -0.28, -0.08, 0.07) | _triangle(u, v, 0.4, -0.28, -0.08, 0.07), c),
        (_disk(u, v, 0.31, -0.02, 0.15), c),
        (_disk(u, v, 0.26, -0.04, 0.03) | _disk(u, v, 0.37, -0.04, 0.03), _DARK),
    ]


def _sign(u: np.ndarray, v: np.ndarray, c: Rgb) -> Parts:
    ink = _DARK if sum(c) > 450 else (245.0, 245.0, 245.0)
    text = _rect(u, v, -0.32, -0.4, 0.32, -0.35) | _rect(u, v, -0.32, -0.3, 0.2, -0.25)
    text |= _rect(u, v, -0.32, -0.2, 0.28, -0.15)
    return [
        (_rect(u, v, -0.04, -0.1, 0.04, 0.5), _POLE),
        (_rect(u, v, -0.42, -0.5, 0.42, -0.05), c),
        (text, ink),
    ]


_PARTS: dict[str, Callable[[np.ndarray, np.ndarray, Rgb], Parts]] = {
    "ball": _ball,
    "box": _box,
    "house": _house,
    "tree": _tree,
    "car": _car,
    "person": _person,
    "cat": _cat,
    "sign": _sign,
}

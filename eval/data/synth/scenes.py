"""Scene graphs: what each synthetic stimulus shows (background, objects, their relations).

A scene is sampled from its own random stream (seed, nsdId), so scene k is the same whatever the dataset size.
Objects are kept in draw order, far (higher in the image) to near, so later objects occlude earlier ones.

As in photographs, what a scene means is not in its colours or layout: an object's colour, size and position
are drawn independently of its category, every category shares one size range, and the backdrop is drawn
independently of the objects. The category is carried only by the object's parts (see `render`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from eval.data.synth.seeding import stream

CATEGORIES = ("ball", "box", "house", "tree", "car", "person", "cat", "sign")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 70, 200),
    "yellow": (230, 210, 40),
    "orange": (240, 140, 30),
    "purple": (130, 50, 160),
    "white": (235, 235, 235),
    "black": (25, 25, 25),
    "brown": (120, 75, 40),
    "pink": (240, 150, 180),
    "gray": (128, 128, 128),
}
BACKGROUNDS = ("outdoor", "indoor", "water", "plain")
TEXTURES = ("none", "stripes", "noise", "checker")
PREDICATES = ("left of", "right of", "above", "below", "next to")

# (name, rgb) choices for the two halves of each background kind.
Named = tuple[str, tuple[int, int, int]]
_SKIES: tuple[Named, ...] = (
    ("blue sky", (135, 190, 235)),
    ("gray sky", (170, 175, 185)),
    ("evening sky", (240, 170, 120)),
)
_GROUNDS: tuple[Named, ...] = (("grass", (70, 150, 60)), ("sand", (215, 190, 130)), ("snow", (235, 240, 245)))
_WALLS: tuple[Named, ...] = (
    ("beige wall", (225, 210, 180)),
    ("blue wall", (170, 195, 225)),
    ("green wall", (185, 215, 180)),
)
_FLOORS: tuple[Named, ...] = (
    ("wooden floor", (140, 95, 60)),
    ("tiled floor", (120, 120, 125)),
    ("red carpet", (150, 60, 60)),
)
_WATER: Named = ("water", (40, 90, 160))
_BACKGROUND_P = (0.35, 0.25, 0.15, 0.25)
_COUNT_P = (0.3, 0.3, 0.25, 0.15)
OBJECT_SIZE = (0.26, 0.42)  # side of an object's box, fraction of the image side, for every category


@dataclass(frozen=True)
class SceneObject:
    """One object: category, colour name, centre (fractions of width and height, y down) and size."""

    category: str
    colour: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class Background:
    """The backdrop: an upper and a lower region split at `horizon` (1.0 for a plain backdrop), with a texture."""

    kind: str
    upper_name: str
    lower_name: str
    upper: tuple[int, int, int]
    lower: tuple[int, int, int]
    horizon: float
    texture: str
    texture_freq: float
    texture_seed: int


@dataclass(frozen=True)
class Relation:
    """`subject` (object index) stands in `predicate` to `object` (object index)."""

    subject: int
    predicate: str
    object: int


@dataclass(frozen=True)
class Scene:
    """The graph of one stimulus."""

    nsd_id: int
    background: Background
    objects: tuple[SceneObject, ...]

    @property
    def relations(self) -> tuple[Relation, ...]:
        """One relation per pair of objects, derived from their geometry."""
        return tuple(
            Relation(i, relation_between(a, b), j)
            for i, a in enumerate(self.objects)
            for j, b in enumerate(self.objects)
            if i < j
        )

    def counts(self) -> dict[str, int]:
        """Objects per category, for the categories present."""
        out: dict[str, int] = {}
        for obj in self.objects:
            out[obj.category] = out.get(obj.category, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["relations"] = [[r.subject, r.predicate, r.object] for r in self.relations]
        return data


def relation_between(a: SceneObject, b: SceneObject) -> str:
    """How `a` stands to `b`: "next to" when close on the same level, else the dominant axis."""
    dx, dy = b.x - a.x, b.y - a.y
    if abs(dy) < 0.1 and abs(dx) < 0.8 * (a.size + b.size):
        return "next to"
    if abs(dx) >= abs(dy):
        return "left of" if dx > 0 else "right of"
    return "above" if dy > 0 else "below"


def sample_scene(seed: int, nsd_id: int, max_objects: int = 4) -> Scene:
    """The scene of stimulus `nsd_id` for the root `seed`."""
    rng = stream(seed, "scene", nsd_id)
    background = _sample_background(rng)
    p = np.asarray(_COUNT_P[:max_objects])
    n_objects = int(rng.choice(np.arange(1, max_objects + 1), p=p / p.sum()))
    objects: list[SceneObject] = []
    for _ in range(n_objects):
        objects.append(_sample_object(rng, objects))
    objects.sort(key=lambda o: o.y)  # far (high) first: nearer objects are drawn over them
    return Scene(nsd_id=nsd_id, background=background, objects=tuple(objects))


def sample_scenes(seed: int, n_images: int, max_objects: int = 4) -> list[Scene]:
    """Scenes of nsdIds 0..n_images-1."""
    return [sample_scene(seed, k, max_objects) for k in range(n_images)]


def _jitter(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int = 18) -> tuple[int, int, int]:
    values = np.clip(np.asarray(rgb) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return (int(values[0]), int(values[1]), int(values[2]))


def _sample_background(rng: np.random.Generator) -> Background:
    kind = str(rng.choice(BACKGROUNDS, p=_BACKGROUND_P))
    texture_freq = float(rng.uniform(4.0, 12.0))
    texture_seed = int(rng.integers(0, 2**31 - 1))
    if kind == "outdoor":
        (upper_name, upper), (lower_name, lower) = _pick(rng, _SKIES), _pick(rng, _GROUNDS)
        horizon, texture = float(rng.uniform(0.35, 0.6)), "noise"
    elif kind == "indoor":
        (upper_name, upper), (lower_name, lower) = _pick(rng, _WALLS), _pick(rng, _FLOORS)
        horizon, texture = float(rng.uniform(0.5, 0.7)), "stripes"
    elif kind == "water":
        (upper_name, upper), (lower_name, lower) = _pick(rng, _SKIES), _WATER
        horizon, texture = float(rng.uniform(0.3, 0.5)), "stripes"
    else:
        name = str(rng.choice(list(COLOURS)))
        upper_name = lower_name = name
        upper = lower = COLOURS[name]
        horizon, texture = 1.0, str(rng.choice(TEXTURES))
    return Background(
        kind=kind,
        upper_name=upper_name,
        lower_name=lower_name,
        upper=_jitter(rng, upper),
        lower=_jitter(rng, lower),
        horizon=round(horizon, 4),
        texture=texture,
        texture_freq=round(texture_freq, 3),
        texture_seed=texture_seed,
    )


def _pick(rng: np.random.Generator, options: tuple[Named, ...]) -> Named:
    return options[int(rng.integers(len(options)))]


def _sample_object(rng: np.random.Generator, placed: list[SceneObject]) -> SceneObject:
    category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
    colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
    size = float(rng.uniform(OBJECT_SIZE[0], OBJECT_SIZE[1]))
    # A few tries to avoid hiding one object entirely behind another; occlusion stays common.
    for _ in range(12):
        x, y = float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.25, 0.8))
        if all(math.hypot(x - o.x, y - o.y) > 0.45 * max(size, o.size) for o in placed):
            break
    return SceneObject(category=category, colour=colour, x=round(x, 4), y=round(y, 4), size=round(size, 4))

"""Five template captions per scene, derived from its graph.

The five captions stress different parts of the graph (a relation, the count, the categories alone, the
layout, the setting), and each template has a few wordings drawn from the scene's own random stream.
"""

from __future__ import annotations

import numpy as np

from eval.data.synth.scenes import Scene, SceneObject
from eval.data.synth.seeding import stream

CAPTIONS_PER_IMAGE = 5
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six")
_PLURALS = {"box": "boxes", "person": "people"}
_RELATION_WORDS = {
    "left of": ("to the left of", "left of"),
    "right of": ("to the right of", "right of"),
    "above": ("above", "higher up than"),
    "below": ("below", "in front of"),
    "next to": ("next to", "beside"),
}


def scene_captions(seed: int, scene: Scene) -> list[str]:
    """Five distinct captions of `scene`."""
    rng = stream(seed, "captions", scene.nsd_id)
    makers = (_relation_caption, _count_caption, _category_caption, _layout_caption, _setting_caption)
    captions: list[str] = []
    for make in makers:
        text = make(rng, scene)
        if text in captions:  # a one-object scene can make two templates agree
            text = f"{text}, in a simple picture"
        captions.append(text)
    return captions


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _phrase(obj: SceneObject, colour: bool = True) -> str:
    words = f"{obj.colour} {obj.category}" if colour else obj.category
    return f"{_article(words)} {words}"


def _plural(category: str, n: int) -> str:
    if n == 1:
        return f"{_article(category)} {category}"
    return f"{_NUMBERS[n] if n < len(_NUMBERS) else n} {_PLURALS.get(category, category + 's')}"


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _place(rng: np.random.Generator, scene: Scene) -> str:
    bg = scene.background
    options = {
        "outdoor": (f"on {bg.lower_name}", f"under {_article(bg.upper_name)} {bg.upper_name}", "outdoors"),
        "indoor": ("in a room", f"on a {bg.lower_name}", f"in front of {_article(bg.upper_name)} {bg.upper_name}"),
        "water": ("by the water", "near the sea", "at the waterside"),
        "plain": (
            f"on {_article(bg.upper_name)} {bg.upper_name} background",
            f"against a {_texture_word(scene)} {bg.upper_name} backdrop",
        ),
    }[bg.kind]
    return options[int(rng.integers(len(options)))]


def _texture_word(scene: Scene) -> str:
    words = {"none": "plain", "stripes": "striped", "noise": "speckled", "checker": "checkered"}
    return words[scene.background.texture]


def _choose(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _relation_caption(rng: np.random.Generator, scene: Scene) -> str:
    objs = scene.objects
    if len(objs) == 1:
        return f"{_phrase(objs[0])} {_place(rng, scene)}"
    relations = scene.relations
    rel = relations[int(rng.integers(len(relations)))]
    words = _choose(rng, _RELATION_WORDS[rel.predicate])
    return f"{_phrase(objs[rel.subject])} {words} {_phrase(objs[rel.object])} {_place(rng, scene)}"


def _count_caption(rng: np.random.Generator, scene: Scene) -> str:
    items = _join([_phrase(o) for o in scene.objects])
    n = len(scene.objects)
    if n == 1:
        return _choose(rng, (f"a single object: {items}", f"just {items}", f"only {items} in the picture"))
    return _choose(rng, (f"{_NUMBERS[n]} objects: {items}", f"a picture of {_NUMBERS[n]} things, {items}"))


def _category_caption(rng: np.random.Generator, scene: Scene) -> str:
    parts = _join([_plural(cat, n) for cat, n in scene.counts().items()])
    return _choose(rng, (f"{parts} {_place(rng, scene)}", f"a photo of {parts}", f"there is {parts} here"))


def _layout_caption(rng: np.random.Generator, scene: Scene) -> str:
    def where(obj: SceneObject) -> str:
        side = "on the left" if obj.x < 0.4 else "on the right" if obj.x > 0.6 else "in the middle"
        size = "large " if obj.size > 0.36 else "small " if obj.size < 0.27 else ""
        return f"{_article(size + obj.colour)} {size}{obj.colour} {obj.category} {side}"

    described = _join([where(o) for o in scene.objects])
    return _choose(rng, (f"{described}", f"in this image, {described}", f"we see {described}"))


def _setting_caption(rng: np.random.Generator, scene: Scene) -> str:
    kind = scene.background.kind
    setting = {"outdoor": "an outdoor", "indoor": "an indoor", "water": "a waterside", "plain": "a simple"}[kind]
    items = _join([_phrase(o, colour=False) for o in scene.objects])
    return _choose(rng, (f"{setting} scene with {items}", f"{items}, {_place(rng, scene)}"))

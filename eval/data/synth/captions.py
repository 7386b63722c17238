"""Five template captions per scene, derived from its graph.

Like COCO's, they name what is there, how many and where, and seldom a colour; the backdrop is never named
(it is drawn independently of the objects and carries no meaning). The five captions stress different parts
of the graph (a relation, the counts, the categories, another relation, the whole), and each template has a few
wordings drawn from the scene's own random stream.
"""

from __future__ import annotations

import numpy as np

from eval.data.synth.scenes import Relation, Scene, SceneObject
from eval.data.synth.seeding import stream

CAPTIONS_PER_IMAGE = 5
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six")
_PLURALS = {"box": "boxes", "person": "people"}
_RELATION_WORDS = {
    "left of": ("to the left of", "left of"),
    "right of": ("to the right of", "right of"),
    "above": ("above", "behind"),
    "below": ("below", "in front of"),
    "next to": ("next to", "beside"),
}
_PLACES = ("in the picture", "in this scene", "in the image", "")


def scene_captions(seed: int, scene: Scene) -> list[str]:
    """Five distinct captions of `scene`."""
    rng = stream(seed, "captions", scene.nsd_id)
    makers = (_relation_caption, _count_caption, _category_caption, _pair_caption, _whole_caption)
    captions: list[str] = []
    for make in makers:
        text = make(rng, scene)
        if text in captions:  # a one-object scene can make two templates agree
            text = f"{text}, in a simple picture"
        captions.append(text)
    return captions


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _phrase(obj: SceneObject, colour: bool = False) -> str:
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


def _choose(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _counted(scene: Scene) -> str:
    return _join([_plural(cat, n) for cat, n in scene.counts().items()])


def _relation_caption(rng: np.random.Generator, scene: Scene) -> str:
    objs = scene.objects
    if len(objs) == 1:
        return f"{_phrase(objs[0])} {_choose(rng, _PLACES)}".strip()
    relations = scene.relations
    return _related(rng, scene, relations[int(rng.integers(len(relations)))])


def _count_caption(rng: np.random.Generator, scene: Scene) -> str:
    parts = _counted(scene)
    return _choose(rng, (f"{parts}", f"a photo of {parts}", f"there is {parts} here"))


def _category_caption(rng: np.random.Generator, scene: Scene) -> str:
    kinds = sorted(scene.counts())
    if len(kinds) == 1:
        n = len(scene.objects)
        return _choose(rng, (f"only {_plural(kinds[0], n)}", f"nothing but {_plural(kinds[0], n)}"))
    names = _join([_PLURALS.get(k, k + "s") for k in kinds])
    return _choose(rng, (f"a picture with {names}", f"{names} together", f"a scene of {names}"))


def _pair_caption(rng: np.random.Generator, scene: Scene) -> str:
    # A second relation, drawn afresh (it may repeat the first caption's pair); one wording in three names the
    # colours, as COCO captions sometimes do. Where things are in the frame is never said: a blur keeps that.
    with_colour = int(rng.integers(3)) == 0
    objs = scene.objects
    if len(objs) == 1:
        return f"{_phrase(objs[0], with_colour)} {_choose(rng, ('on its own', 'alone', 'by itself'))}"
    relations = scene.relations
    described = _related(rng, scene, relations[-1 - int(rng.integers(len(relations)))], with_colour)
    return _choose(rng, (described, f"in this image, {described}", f"we see {described}"))


def _related(rng: np.random.Generator, scene: Scene, rel: Relation, colour: bool = False) -> str:
    """'a cat to the left of a car': `rel` in one of its wordings."""
    words = _choose(rng, _RELATION_WORDS[rel.predicate])
    return f"{_phrase(scene.objects[rel.subject], colour)} {words} {_phrase(scene.objects[rel.object], colour)}"


def _whole_caption(rng: np.random.Generator, scene: Scene) -> str:
    n = len(scene.objects)
    parts = _counted(scene)
    if n == 1:
        return _choose(rng, (f"a single object: {parts}", f"just {parts}", f"one thing, {parts}"))
    return _choose(rng, (f"{_NUMBERS[n]} objects: {parts}", f"a picture of {_NUMBERS[n]} things, {parts}"))

"""The synthetic world's meaning lives in detail, as in photographs: categories are told apart only by parts
a few pixels across, colour and backdrop say nothing about them, captions name things rather than colours,
and the semantic features do not move with colour or position."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from eval.backbone.blur_identification import blurred
from eval.data.synth.captions import scene_captions
from eval.data.synth.features import semantic_features
from eval.data.synth.render import render
from eval.data.synth.scenes import (
    BACKGROUNDS,
    CATEGORIES,
    COLOURS,
    Background,
    Scene,
    SceneObject,
    sample_scene,
)

_PLAIN = Background("plain", "gray", "gray", (128, 128, 128), (128, 128, 128), 1.0, "none", 5.0, 0)


def _one_object(category: str, colour: str = "orange", size: float = 0.4) -> np.ndarray:
    scene = Scene(0, _PLAIN, (SceneObject(category, colour, 0.5, 0.5, size),))
    return render(scene, 64).astype(np.float64)


def _largest_pair_gap(images: list[np.ndarray], side: int) -> float:
    """The largest mean absolute difference (0-255) between two categories' images blurred to `side` px."""
    small = blurred(np.stack(images).astype(np.uint8), side).astype(np.float64)
    return max(np.abs(a - b).mean() for i, a in enumerate(small) for b in small[i + 1 :])


def test_categories_differ_in_detail_and_look_alike_once_blurred() -> None:
    images = [_one_object(c) for c in CATEGORIES]
    sharp_gaps = [np.abs(a - b).mean() for i, a in enumerate(images) for b in images[i + 1 :]]
    # Sharp: every pair of categories differs clearly, inside the object's box (about 16% of the image).
    assert min(sharp_gaps) > 2.0
    # Blurred to 8 px (the strong blur of the blur benchmark) they become nearly the same blob; at 32 px not.
    assert _largest_pair_gap(images, 8) < 1.6
    assert _largest_pair_gap(images, 32) > 3 * _largest_pair_gap(images, 8)


def test_colour_size_and_backdrop_are_drawn_independently_of_the_category() -> None:
    scenes = [sample_scene(0, k) for k in range(3000)]
    objects = [(o, s.background.kind) for s in scenes for o in s.objects]
    table = np.zeros((len(CATEGORIES), len(COLOURS)))
    for obj, _ in objects:
        table[CATEGORIES.index(obj.category), list(COLOURS).index(obj.colour)] += 1
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    # 70 degrees of freedom: the 0.999 quantile of chi-square is about 112; a colour-coded world is far above.
    assert chi2 < 112
    sizes = {c: np.mean([o.size for o, _ in objects if o.category == c]) for c in CATEGORIES}
    assert max(sizes.values()) - min(sizes.values()) < 0.02
    by_backdrop = {b: [o.category for o, kind in objects if kind == b] for b in BACKGROUNDS}
    for categories in by_backdrop.values():
        shares = np.array([categories.count(c) for c in CATEGORIES]) / len(categories)
        assert np.abs(shares - 1 / len(CATEGORIES)).max() < 0.05


def test_captions_name_categories_counts_and_relations_more_than_colours() -> None:
    colour_words = re.compile(r"\b(" + "|".join(COLOURS) + r")\b")
    backdrop_words = re.compile(r"\b(sky|grass|sand|snow|wall|floor|carpet|water|sea|backdrop|background)\b")
    captions, with_colour = 0, 0
    for nsd_id in range(300):
        scene = sample_scene(0, nsd_id)
        five = scene_captions(0, scene)
        text = " ".join(five)
        for obj in scene.objects:
            assert obj.category in text or f"{obj.category}s" in text or obj.category == "person"
        if len(scene.objects) > 1:
            assert re.search(r"\b(two|three|four)\b", text)
            words = ("left", "right", "above", "below", "next to", "beside", "front", "behind")
            assert any(word in text for word in words)
        for caption in five:
            captions += 1
            with_colour += bool(colour_words.search(caption))
            assert not backdrop_words.search(caption), caption
            assert any(c in caption for c in (*CATEGORIES, "people", "boxes")), caption
    assert with_colour / captions < 0.12


@pytest.mark.parametrize("nsd_id", range(20))
def test_semantic_features_ignore_colour_backdrop_and_small_shifts(nsd_id: int) -> None:
    scene = sample_scene(0, nsd_id)
    rng = np.random.default_rng(nsd_id)
    recoloured = tuple(
        dataclasses.replace(o, colour=str(rng.choice(list(COLOURS))), x=o.x + 0.002, y=o.y - 0.002)
        for o in scene.objects
    )
    other = dataclasses.replace(scene, background=_PLAIN, objects=recoloured)
    assert np.array_equal(semantic_features([scene]), semantic_features([other]))
    # A different category is seen.
    swapped = (dataclasses.replace(scene.objects[0], category=_other_category(scene.objects[0].category)),)
    changed = dataclasses.replace(scene, objects=swapped + scene.objects[1:])
    assert not np.array_equal(semantic_features([scene]), semantic_features([changed]))


def _other_category(category: str) -> str:
    return CATEGORIES[(CATEGORIES.index(category) + 1) % len(CATEGORIES)]

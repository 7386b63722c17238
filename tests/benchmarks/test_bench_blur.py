"""Where meaning lives in MiniVD's CLIP space: two-way identification of each test image from a blurred copy of
itself (downsampled by area to k x k px, upsampled bilinearly, embedded with the encoder's own processor).

Figures, on the first 300 test images of subject 1 of the default SynthNSD: at k = 8 at most 65% (a strong blur
removes what things are, as on real images), at k = 32 at least 90% (a mild blur keeps it).

Run: tox -e bench -- tests/benchmarks/test_bench_blur.py
"""

from __future__ import annotations

import numpy as np
import pytest

from eval.backbone.blur_identification import BLUR_SIDES, ImageSpace, blur_identification_curve
from eval.cache import Cache
from eval.data.prepare import load_subject
from eval.data.source import embedded_synthnsd
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.metrics.seeded import MINIVD_DIR
from eval.pipeline import quantise

FIGURES = {"at_most": {8: 0.65}, "at_least": {32: 0.90}}


@pytest.fixture(scope="module")
def test_images(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    cache = tmp_path_factory.mktemp("bench-cache")
    root = embedded_synthnsd(Cache(cache), preset="default").root
    data = load_subject(root, 1, PrepareOptions(), cache)
    return quantise(Stimuli(root).images_tensor(np.asarray(data.test_ids[:300])))


def test_blur_identification_curve(benchmark, test_images: np.ndarray) -> None:
    space = ImageSpace(MINIVD_DIR)
    curve = benchmark.pedantic(blur_identification_curve, args=(space, test_images, BLUR_SIDES), rounds=1)
    benchmark.extra_info.update({f"k{side}": value for side, value in curve.items()}, n=len(test_images))
    print({side: round(100 * value, 1) for side, value in curve.items()})
    for side, ceiling in FIGURES["at_most"].items():
        assert curve[side] <= ceiling, (side, curve)
    for side, floor in FIGURES["at_least"].items():
        assert curve[side] >= floor, (side, curve)

"""Reference decoders that need no pretrained weights: the bounds every leaderboard is read against.

- ground_truth: the test images themselves (the upper bound of every metric).
- mean_image: the mean training image for every test trial (what "no information" scores on pixel metrics).
- random: a seeded random training image per test trial (chance on identification metrics).
- colour_histogram: each test image's pixels shuffled (what colour alone scores; it reads the true images).
"""

from __future__ import annotations

import numpy as np
import torch

from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import HarnessError


class _NotFitted(HarnessError):
    pass


def _require(value: object, name: str) -> None:
    if value is None:
        raise _NotFitted(f"decoder '{name}': reconstruct() called before fit()")


class GroundTruthDecoder:
    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        self.meta = DecoderMeta(GROUND_TRUTH.name, GROUND_TRUTH.kind, GROUND_TRUTH.description)
        self._stimuli: Stimuli | None = None

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._stimuli = stimuli

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        _require(self._stimuli, self.meta.name)
        return self._stimuli.images_tensor(inputs.nsd_ids)


class MeanImageDecoder:
    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        self.meta = DecoderMeta(MEAN_IMAGE.name, MEAN_IMAGE.kind, MEAN_IMAGE.description)
        self._mean: torch.Tensor | None = None

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        total = torch.zeros(3, *stimuli.image_size, dtype=torch.float64)
        for batch in stimuli.tensor_batches(data.train_ids):
            total += batch.double().sum(dim=0)
        self._mean = (total / len(data.train_ids)).float()

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        _require(self._mean, self.meta.name)
        return self._mean.expand(len(inputs.nsd_ids), -1, -1, -1).clone()


class RandomDecoder:
    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        self.meta = DecoderMeta(RANDOM.name, RANDOM.kind, RANDOM.description, flags={"seed": context.seed})
        # Seeded per subject so that subjects do not draw the same sequence.
        self._rng = np.random.default_rng([context.seed, context.subject])
        self._stimuli: Stimuli | None = None
        self._train_ids: np.ndarray | None = None

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._stimuli, self._train_ids = stimuli, np.asarray(data.train_ids)

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        _require(self._train_ids, self.meta.name)
        picks = self._rng.choice(self._train_ids, size=len(inputs.nsd_ids), replace=True)
        return self._stimuli.images_tensor(picks)


class ColourHistogramDecoder:
    """Each test image's own pixels in a seeded random order: its colour histogram exactly, none of its layout,
    shapes or parts. What colour alone scores on each metric."""

    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        self.meta = DecoderMeta(
            COLOUR_HISTOGRAM.name,
            COLOUR_HISTOGRAM.kind,
            COLOUR_HISTOGRAM.description,
            flags={"seed": context.seed, "uses_ground_truth": True},
        )
        self._seed = context.seed
        self._stimuli: Stimuli | None = None

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._stimuli = stimuli

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        _require(self._stimuli, self.meta.name)
        images = self._stimuli.images_tensor(inputs.nsd_ids)
        n, channels, height, width = images.shape
        pixels = images.reshape(n, channels, height * width)
        out = torch.empty_like(pixels)
        for row, nsd_id in enumerate(np.asarray(inputs.nsd_ids)):
            # Seeded by the image, so a trial's reconstruction does not depend on which others share its batch.
            order = np.random.default_rng([self._seed, int(nsd_id)]).permutation(height * width)
            out[row] = pixels[row][:, torch.from_numpy(order)]
        return out.reshape(n, channels, height, width)


GROUND_TRUTH = DecoderSpec(
    name="ground_truth",
    kind="reference",
    description="the test images themselves: upper bound of every metric",
    build=GroundTruthDecoder,
)
MEAN_IMAGE = DecoderSpec(
    name="mean_image",
    kind="reference",
    description="the mean training image for every trial: no stimulus-specific information",
    build=MeanImageDecoder,
)
RANDOM = DecoderSpec(
    name="random",
    kind="reference",
    description="a seeded random training image per trial: chance level",
    build=RandomDecoder,
)
COLOUR_HISTOGRAM = DecoderSpec(
    name="colour_histogram",
    kind="reference",
    description="each test image's pixels shuffled: its colours exactly, nothing of its shapes or layout",
    build=ColourHistogramDecoder,
)

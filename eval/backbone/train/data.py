"""Training scenes for MiniVD: fresh SynthNSD-style scenes that no SynthNSD dataset contains.

Scenes come from the same generator as SynthNSD's stimuli, drawn with ids from `FIRST_SCENE_ID` up, so the
backbone learns the scene distribution without ever seeing a stimulus of any subject (training or test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eval.data.synth.captions import scene_captions
from eval.data.synth.render import render
from eval.data.synth.scenes import sample_scene

FIRST_SCENE_ID = 1_000_000  # far above any SynthNSD stimulus id (the default dataset has 5,000)


@dataclass(frozen=True)
class SceneSet:
    images: np.ndarray  # uint8 (n, H, W, 3)
    captions: list[list[str]]  # five per image

    def tensor(self, index: np.ndarray | slice) -> torch.Tensor:
        """Images as float32 [n, 3, H, W] in [-1, 1], the range the autoencoder and UNet work in."""
        x = torch.from_numpy(self.images[index]).permute(0, 3, 1, 2).float()
        return x.div_(127.5).sub_(1.0)


def make_scenes(seed: int, first: int, count: int, size: int) -> SceneSet:
    """`count` scenes with ids first..first+count-1, rendered at `size` px, with their captions."""
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    captions = []
    for k in range(count):
        scene = sample_scene(seed, FIRST_SCENE_ID + first + k)
        images[k] = render(scene, size)
        captions.append(scene_captions(seed, scene))
    return SceneSet(images=images, captions=captions)


def all_captions(scenes: SceneSet) -> list[str]:
    return [caption for five in scenes.captions for caption in five]

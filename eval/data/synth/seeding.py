"""Named random streams: each part of the simulation draws from its own stream of the root seed.

Streams are keyed by names rather than drawn in sequence, so that changing one part (say, the number of
training images) leaves the others (say, scene 17 or subject 5's anatomy) unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent generator for `seed` and a path of keys, e.g. ``stream(0, "noise", 1, 12)``."""
    words = [int(seed)]
    for key in keys:
        words.append(zlib.crc32(key.encode("utf-8")) if isinstance(key, str) else int(key))
    return np.random.default_rng(np.random.SeedSequence(words))

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_vd_dir(tmp_path_factory):
    """A random VD-layout model (32 px images, 4 x 16 x 16 latents) written by the MiniVD code."""
    from eval.backbone.train.tiny import write_random_model

    return write_random_model(tmp_path_factory.mktemp("vd") / "tiny-vd")


@pytest.fixture(scope="session")
def tiny_vd(tiny_vd_dir):
    from eval.backbone.model import VersatileBackbone

    return VersatileBackbone.load(tiny_vd_dir)

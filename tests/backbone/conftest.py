from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_vd(tiny_vd_dir):
    from eval.backbone.model import VersatileBackbone

    return VersatileBackbone.load(tiny_vd_dir)

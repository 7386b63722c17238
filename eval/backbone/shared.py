"""One generation backbone per (name, device) in a process, shared by every decoder that generates through it."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=2)
def load_backbone(name: str, device: str):
    """The backbone `name` on `device`, loaded once per process (it is read-only). The import waits until a
    decoder needs it, so importing a plugin does not import diffusers."""
    from eval.backbone.model import VersatileBackbone

    return VersatileBackbone.load(name, device=device)

"""Shared pieces of the MiniVD stages: optimiser schedule, seeding, progress logging, checkpoints."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import torch

log = logging.getLogger("eval.backbone.train")


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def cosine_lr(step: int, total: int, peak: float, warmup: int = 100, floor: float = 0.05) -> float:
    """Linear warm-up, then cosine decay to `floor` * peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimiser: torch.optim.Optimizer, lr: float) -> None:
    for group in optimiser.param_groups:
        group["lr"] = lr


class Curve:
    """Training curve of a stage: (step, seconds, values) rows, logged and written as JSON lines."""

    def __init__(self, path: Path, stage: str):
        self.path = path
        self.stage = stage
        self.start = time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def add(self, step: int, **values: float) -> None:
        row = {"stage": self.stage, "step": step, "seconds": round(time.perf_counter() - self.start, 1), **values}
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        log.info(
            "%s %s",
            self.stage,
            " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "stage"),
        )

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def pearson_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.flatten(1).double()
    b = b.flatten(1).double()
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)

"""The epoch loop the trained decoders share: seeded batches, one optimisation step, per-epoch mean losses.

A decoder supplies its model's loss of one batch; this module draws the batches, takes the step (loss scaling
for fp16, the backward pass through `accelerate` when several processes train, the optimizer and the schedule),
averages each loss part over the epoch, shows progress and stops at the first epoch whose losses are not finite.
The random order is drawn from a CPU generator seeded by the run's seed and the epoch, so a run repeats exactly.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

# (epoch, the global batch's rows) -> (the loss to step on, its parts as floats, "loss" among them)
BatchLoss = Callable[[int, torch.Tensor], tuple[torch.Tensor, dict[str, float]]]


def batch_rows(n: int, batch_size: int, world: int, epoch: int, seed: int) -> list[torch.Tensor]:
    """The global batches of one epoch: a seeded permutation cut into full batches (the remainder is dropped;
    the next epoch's permutation differs). A training set smaller than one batch is used whole."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=generator)
    size = min(batch_size, n) // world * world
    if size == 0:
        raise ValueError(f"{n} training rows cannot be shared among {world} processes")
    return [order[start : start + size] for start in range(0, n - size + 1, size)]


def steps_per_epoch(n: int, batch_size: int, world: int) -> int:
    """How many batches `batch_rows` cuts an epoch of `n` rows into (what a schedule's length counts)."""
    size = min(batch_size, n) // world * world
    return (n - size) // size + 1


@dataclass(frozen=True)
class Stepper:
    """One optimisation step: gradients of the (scaled) loss, then the optimizer, the scaler and the schedule.

    Attributes:
        accelerator: An `accelerate.Accelerator` whose `backward` averages gradients over processes; None trains
            in this process.
    """

    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    accelerator: Any = None

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        scaled = self.scaler.scale(loss)  # the loss itself unless fp16 on CUDA
        if self.accelerator is not None:
            self.accelerator.backward(scaled)
        else:
            scaled.backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()


def train_epochs(
    name: str,
    epochs: int,
    batches: Callable[[int], list[torch.Tensor]],
    loss: BatchLoss,
    stepper: Stepper,
    *,
    progress: bool = True,
    extra: Callable[[int], dict[str, float]] | None = None,
) -> list[dict[str, float]]:
    """Run `epochs` epochs; return each epoch's mean loss parts (with `extra(epoch)`'s entries added).

    Args:
        name: The model's name in the progress bar and in messages ("HAVIR").
        batches: epoch -> its global batches (rows of the training set).
        loss: The loss of one batch; its parts are averaged over the epoch's batches.
        progress: Whether to show a progress bar (only one process of several should).
        extra: epoch -> entries recorded beside the mean losses (a temperature, say).

    Raises:
        FloatingPointError: When an epoch's mean losses are not all finite (training diverged).
    """
    history: list[dict[str, float]] = []
    bar = tqdm(range(epochs), desc=f"{name} training", unit="epoch", disable=not progress or None)
    for epoch in bar:
        sums: dict[str, float] = {}
        rows_of_epoch = batches(epoch)
        for rows in rows_of_epoch:
            value, parts = loss(epoch, rows)
            stepper.step(value)
            for key, part in parts.items():
                sums[key] = sums.get(key, 0.0) + part / len(rows_of_epoch)
        history.append(sums | (extra(epoch) if extra is not None else {}))
        bar.set_postfix(loss=f"{sums['loss']:.4f}")
        if not all(math.isfinite(v) for v in sums.values()):
            raise FloatingPointError(f"{name} training diverged at epoch {epoch}: {sums}")
    if history:
        log.info("%s training: final epoch losses %s", name, {k: round(v, 5) for k, v in history[-1].items()})
    return history

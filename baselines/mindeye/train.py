"""Training MindEye on one subject's training split: all three parts in one loop, as one loss.

Per batch (MindEye1's Train_MindEye.py, plus its low-level branch trained alongside instead of separately):

- contrastive loss on the projector's unit-length flattened tokens against the targets': BiMixCo (voxels mixed,
  labels mixed the same way) for the first `mixco_share` of the epochs, then SoftCLIP with a temperature
  cosine-annealed over the remaining epochs;
- the diffusion prior's MSE on clean tokens, conditioned on the backbone's output (on the mixed voxels in the
  BiMixCo epochs, against the unmixed targets, as MindEye does), weighted `prior_weight`;
- the low-level branch's L1 loss on the AutoKL latents (unmixed voxels), weighted `low_weight`.

AdamW (no weight decay on biases and norms) with MindEye's one-cycle schedule (warm-up over 2 epochs, final
division 1000). Data stay on the CPU; each batch and its targets are copied to the model's device. The random
draws (batch order, mixing, prior timesteps and noise) come from seeded CPU generators, so a run repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from baselines.mindeye.config import MindEyeConfig
from baselines.mindeye.losses import cosine_anneal, flat_unit, mixco, mixco_nce, soft_clip_loss
from baselines.mindeye.modules import MindEyeModel
from eval.training import Stepper, batch_rows, steps_per_epoch, train_epochs
from havir.device import autocast, grad_scaler, model_device


@dataclass(frozen=True)
class TrainingSet:
    """Inputs and targets of the training images, row for row (on the CPU; `train` moves each batch)."""

    voxels: torch.Tensor  # [n, voxels]
    latents: torch.Tensor  # [n, C, h, w] scaled AutoKL latents
    image_tokens: torch.Tensor  # [n, L, D] VD image tokens

    def __len__(self) -> int:
        return int(self.voxels.shape[0])


def _parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and kernels only (MindEye: none on biases and LayerNorm)."""
    trained = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in trained if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in trained if p.ndim < 2], "weight_decay": 0.0},
    ]


def train(
    model: MindEyeModel, data: TrainingSet, config: MindEyeConfig, seed: int, progress: bool = True
) -> list[dict[str, float]]:
    """Train `model` in place; return the per-epoch mean losses."""
    device = model_device(model)
    model.prior.set_statistics(data.image_tokens)
    optimizer = torch.optim.AdamW(_parameter_groups(model, config.weight_decay), lr=config.lr)
    total = config.epochs * steps_per_epoch(len(data), config.batch_size, 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=max(total, 2), final_div_factor=1000,
        pct_start=min(0.5, 2 / config.epochs),
    )
    stepper = Stepper(optimizer, schedule, grad_scaler(device, config.mixed_precision))
    mixing_epochs = config.mixco_epochs()
    temps = cosine_anneal(*config.softclip_temps, config.epochs - mixing_epochs)
    rng = np.random.default_rng([seed, 1])  # mixing draws
    generator = torch.Generator().manual_seed(seed * 7 + 3)  # prior timesteps and noise

    def temperature(epoch: int) -> float:
        return config.mixco_temp if epoch < mixing_epochs else temps[epoch - mixing_epochs]

    def loss(epoch: int, rows: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        mixing = epoch < mixing_epochs
        return _loss(model, data, rows, config, device, mixing, temperature(epoch), rng, generator)

    def batches(epoch: int) -> list[torch.Tensor]:
        return batch_rows(len(data), config.batch_size, 1, epoch, seed)

    def extra(epoch: int) -> dict[str, float]:
        return {"temperature": temperature(epoch), "mixco": float(epoch < mixing_epochs)}

    model.train()
    history = train_epochs("MindEye", config.epochs, batches, loss, stepper, progress=progress, extra=extra)
    model.eval()
    return history


def _loss(model, data, rows, config, device, mixing, temp, rng, generator):
    """The loss of one batch `rows` on `device`; the forward passes under autocast, the losses in float32."""
    voxels = data.voxels[rows].to(device)
    targets = data.image_tokens[rows].to(device)
    latents = data.latents[rows].to(device)
    if mixing:
        inputs, perm, betas = mixco(voxels, rng)
    else:
        inputs = voxels
    with autocast(device, config.mixed_precision):
        tokens, projected = model.brain(inputs)
        prior = model.prior.loss(tokens, targets, generator)
        low = model.low_level(voxels)
    preds, units = flat_unit(projected.float()), flat_unit(targets)
    if mixing:
        contrastive = mixco_nce(preds, units, temp, perm, betas)
    else:
        contrastive = soft_clip_loss(preds, units, temp)
    low_loss = F.l1_loss(low.float(), latents)
    loss = contrastive + config.prior_weight * prior.float() + config.low_weight * low_loss
    with torch.no_grad():
        top1 = (preds @ units.T).argmax(1).eq(torch.arange(len(rows), device=preds.device)).float().mean()
    parts = {
        "contrastive": contrastive.item(),
        "prior_mse": prior.item(),
        "low_l1": low_loss.item(),
        "loss": loss.item(),
        "top1": top1.item(),
    }
    return loss, parts

"""Training both HAVIR modules on one subject's training split, in one process or several (accelerate).

Every process draws the same shuffled order each epoch and takes an equal, disjoint share of every global
batch. The losses are means over a process's rows; the SoftCLIP columns are the whole global batch's targets
(every process holds all targets), so its rows are exactly those of the single-process loss, and averaging
the gradients over processes (DDP) gives the single-process gradient. With dropout off, several processes
therefore train the same model as one process, up to floating-point summation order.

Batches follow the model: the training set stays on the CPU and each batch's inputs and targets are copied to
the device of the model's parameters (under `accelerate`, the device `prepare` put it on). Whole target tensors
on the device would cost about 10 GB per process at paper scale (9000 images x 1.1 MB of latents and tokens);
a batch's copy is a few tens of MB, small next to the forward and backward passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eval.backbone.targets import Targets
from eval.training import Stepper, batch_rows, steps_per_epoch, train_epochs
from havir.config import HavirConfig
from havir.device import autocast, grad_scaler, model_device
from havir.losses import structural_loss, token_loss
from havir.modules import HavirModel, SemanticExtractor, StructuralGenerator


@dataclass(frozen=True)
class TrainingSet:
    """Inputs and targets of the training images, row for row (on the CPU; `train` moves each batch)."""

    structural: torch.Tensor  # [n, structural voxels]
    semantic: torch.Tensor  # [n, semantic voxels]
    targets: Targets

    def __len__(self) -> int:
        return int(self.structural.shape[0])


def build_model(config: HavirConfig, n_structural: int, n_semantic: int, info) -> HavirModel:
    """Both modules sized for `info` (a BackboneInfo: latent and token shapes)."""
    structural = StructuralGenerator(
        n_structural,
        info.latent_shape,
        config.hidden,
        config.blocks,
        config.dropout,
        config.feature_channels,
        config.upsample,
    )
    semantic = SemanticExtractor(
        n_semantic, info.image_token_shape, info.text_token_shape, config.hidden, config.blocks, config.dropout
    )
    return HavirModel(structural, semantic)


def train(
    model: HavirModel,
    data: TrainingSet,
    config: HavirConfig,
    seed: int,
    epochs: int | None = None,
    accelerator=None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train `model` in place with AdamW and a one-cycle schedule; return the per-epoch mean losses.

    Args:
        accelerator: An `accelerate.Accelerator` for multi-process training; None trains in this process.
    """
    epochs = config.epochs if epochs is None else epochs
    rank = accelerator.process_index if accelerator is not None else 0
    world = accelerator.num_processes if accelerator is not None else 1
    if config.batch_size % world:
        raise ValueError(f"batch size {config.batch_size} is not divisible by the {world} training processes")
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = epochs * steps_per_epoch(len(data), config.batch_size, world)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(total, 2))
    net = model
    if accelerator is not None:
        net, optimizer = accelerator.prepare(model, optimizer)
    device = model_device(model)  # after `prepare`, which may have moved it
    stepper = Stepper(optimizer, schedule, grad_scaler(device, config.mixed_precision), accelerator)

    def loss(epoch: int, rows: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return _loss(net, data, rows[rank::world], rows, config, device)  # this process's share of the batch

    def batches(epoch: int) -> list[torch.Tensor]:
        return batch_rows(len(data), config.batch_size, world, epoch, seed)

    net.train()
    history = train_epochs("HAVIR", epochs, batches, loss, stepper, progress=progress and rank == 0)
    model.eval()
    return history


def _loss(net, data: TrainingSet, mine: torch.Tensor, rows: torch.Tensor, config: HavirConfig, device):
    """The loss of this process's rows `mine` of the global batch `rows`, on `device`.

    Only the forward pass runs under autocast; the losses are computed outside it, in float32.
    """
    targets = data.targets
    tau = config.tau
    with autocast(device, config.mixed_precision):
        outputs = net(data.structural[mine].to(device), data.semantic[mine].to(device))
    z_pred, img_pred, cap_pred = (out.float() for out in outputs)  # no-op in float32
    l_str, parts = structural_loss(z_pred, targets.latents[mine].to(device))
    img_all, cap_all = targets.image_tokens[rows].to(device), targets.text_tokens[rows].to(device)
    img_clip, img_mse = token_loss(img_pred, targets.image_tokens[mine].to(device), tau, img_all)
    cap_clip, cap_mse = token_loss(cap_pred, targets.text_tokens[mine].to(device), tau, cap_all)
    loss = l_str + img_clip + img_mse + cap_clip + cap_mse
    parts |= {
        "img_softclip": img_clip.item(),
        "img_mse": img_mse.item(),
        "cap_softclip": cap_clip.item(),
        "cap_mse": cap_mse.item(),
        "loss": loss.item(),
    }
    return loss, parts

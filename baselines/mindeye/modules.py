"""MindEye's networks: the residual MLP backbone with its contrastive projector, the diffusion prior, and the
low-level branch.

- `BrainNetwork` (MindEye1's voxel2clip): voxels -> Linear -> LayerNorm -> GELU -> Dropout, residual blocks of
  Linear -> LayerNorm -> GELU -> Dropout, Linear to the backbone's CLIP image-token shape. A projector MLP,
  applied to every token, gives the embeddings the contrastive loss compares (so the contrastive objective and
  the prior's objective can pull the backbone output in different directions, MindEye's BYOL-like head).
- `BrainPrior` (`prior.py`): diffusers' `PriorTransformer` trained from scratch to map backbone outputs to CLIP
  image tokens.
- The low-level branch is HAVIR's Structural Generator (`havir.modules.StructuralGenerator`: the same
  Linear -> LayerNorm -> SiLU -> Dropout residual MLP, linear to a low-resolution map, GroupNorm, upsampling and
  a convolution to the AutoKL latent), fed all voxels, as MindEye's voxel -> Stable Diffusion latent model is.
"""

from __future__ import annotations

import torch
from torch import nn

from baselines.mindeye.config import MindEyeConfig
from baselines.mindeye.prior import BrainPrior
from havir.modules import StructuralGenerator


class Block(nn.Module):
    """x + Dropout(GELU(LayerNorm(Linear(x))))."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def projector(dim: int, width: int) -> nn.Sequential:
    """MindEye's contrastive head, per token: (LayerNorm, GELU, Linear) three times, dim -> width -> width -> dim."""
    layers: list[nn.Module] = []
    for size_in, size_out in ((dim, width), (width, width), (width, dim)):
        layers += [nn.LayerNorm(size_in), nn.GELU(), nn.Linear(size_in, size_out)]
    return nn.Sequential(*layers)


class BrainNetwork(nn.Module):
    """Voxels -> (backbone output [N, L, D] in the CLIP image-token shape, projector output [N, L, D])."""

    def __init__(self, n_voxels: int, token_shape: tuple[int, int], config: MindEyeConfig) -> None:
        super().__init__()
        self.token_shape = tuple(token_shape)
        hidden = config.hidden
        self.input = nn.Linear(n_voxels, hidden)
        self.embed = nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Dropout(config.dropout_in))
        self.blocks = nn.Sequential(*(Block(hidden, config.dropout) for _ in range(config.blocks)))
        self.output = nn.Linear(hidden, token_shape[0] * token_shape[1])
        self.projector = projector(token_shape[1], config.projector)

    def forward(self, voxels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.output(self.blocks(self.embed(self.input(voxels)))).view(-1, *self.token_shape)
        return tokens, self.projector(tokens)


class MindEyeModel(nn.Module):
    """The three trained parts together."""

    def __init__(self, brain: BrainNetwork, prior: BrainPrior, low_level: StructuralGenerator) -> None:
        super().__init__()
        self.brain = brain
        self.prior = prior
        self.low_level = low_level


def build_model(config: MindEyeConfig, n_voxels: int, info) -> MindEyeModel:
    """A fresh model sized for `info` (a BackboneInfo: latent and image-token shapes), on the CPU."""
    brain = BrainNetwork(n_voxels, info.image_token_shape, config)
    prior = BrainPrior(info.image_token_shape, config)
    low_level = StructuralGenerator(
        n_voxels, info.latent_shape, config.hidden, config.blocks, config.dropout, config.low_channels,
        config.low_upsample,
    )
    return MindEyeModel(brain, prior, low_level)

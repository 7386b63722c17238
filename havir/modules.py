"""HAVIR's two networks: the Structural Generator (voxels -> z') and the Semantic Extractor (voxels -> e'_img, e'_cap).

Both begin with the same embedding: linear -> LayerNorm -> SiLU -> Dropout, then residual MLP blocks (paper
appendices A and B). The first linear layer's weight columns are the per-voxel weights the brain maps read.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """x + Dropout(SiLU(LayerNorm(Linear(x))))."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.SiLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VoxelEncoder(nn.Module):
    """Voxels -> hidden features: linear, LayerNorm, SiLU, Dropout, then `blocks` residual MLP blocks."""

    def __init__(self, n_voxels: int, hidden: int, blocks: int, dropout: float) -> None:
        super().__init__()
        self.input = nn.Linear(n_voxels, hidden)
        self.embed = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Dropout(dropout))
        self.blocks = nn.Sequential(*(ResidualBlock(hidden, dropout) for _ in range(blocks)))

    def forward(self, voxels: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.embed(self.input(voxels)))


class StructuralGenerator(nn.Module):
    """Structural voxels -> z' with the AutoKL latent's shape.

    After the encoder, a linear layer gives a low-resolution feature map (`feature_channels` x side/`upsample`),
    which is group-normalised, upsampled to the latent's side and projected to the latent's channels by a 3x3
    convolution. (The paper leaves the channel mapping open; without a projection after the GroupNorm every
    z' would share each channel's mean, which carries the image's mean colour.)
    """

    def __init__(
        self,
        n_voxels: int,
        latent_shape: tuple[int, int, int],
        hidden: int,
        blocks: int,
        dropout: float,
        feature_channels: int,
        upsample: int,
    ) -> None:
        super().__init__()
        channels, height, width = latent_shape
        if height % upsample or width % upsample:
            raise ValueError(f"latent side {height}x{width} is not divisible by the upsampling factor {upsample}")
        self.latent_shape = tuple(latent_shape)
        self.low_res = (feature_channels, height // upsample, width // upsample)
        self.encoder = VoxelEncoder(n_voxels, hidden, blocks, dropout)
        self.to_map = nn.Linear(hidden, feature_channels * self.low_res[1] * self.low_res[2])
        groups = next(g for g in (8, 4, 2, 1) if feature_channels % g == 0)
        self.norm = nn.GroupNorm(groups, feature_channels)
        self.up = nn.Upsample(scale_factor=upsample, mode="bilinear", align_corners=False)
        self.out = nn.Conv2d(feature_channels, channels, kernel_size=3, padding=1)

    def forward(self, voxels: torch.Tensor) -> torch.Tensor:
        features = self.to_map(self.encoder(voxels)).view(-1, *self.low_res)
        return self.out(self.up(self.norm(features)))


class SemanticExtractor(nn.Module):
    """Semantic voxels -> (e'_img [N, L_img, D], e'_cap [N, L_txt, D]) through two separate linear heads."""

    def __init__(
        self,
        n_voxels: int,
        image_token_shape: tuple[int, int],
        text_token_shape: tuple[int, int],
        hidden: int,
        blocks: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.image_token_shape = tuple(image_token_shape)
        self.text_token_shape = tuple(text_token_shape)
        self.encoder = VoxelEncoder(n_voxels, hidden, blocks, dropout)
        self.image_head = nn.Linear(hidden, image_token_shape[0] * image_token_shape[1])
        self.text_head = nn.Linear(hidden, text_token_shape[0] * text_token_shape[1])

    def forward(self, voxels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(voxels)
        e_img = self.image_head(hidden).view(-1, *self.image_token_shape)
        e_cap = self.text_head(hidden).view(-1, *self.text_token_shape)
        return e_img, e_cap


class HavirModel(nn.Module):
    """The two modules together (both are always trained; ablations choose which outputs are used)."""

    def __init__(self, structural: StructuralGenerator, semantic: SemanticExtractor) -> None:
        super().__init__()
        self.structural = structural
        self.semantic = semantic

    def forward(
        self, structural_voxels: torch.Tensor, semantic_voxels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z', e'_img, e'_cap) of a batch."""
        e_img, e_cap = self.semantic(semantic_voxels)
        return self.structural(structural_voxels), e_img, e_cap

    def input_layers(self) -> dict[str, nn.Linear]:
        """The first linear layer of each module: voxel-specific, read by the brain maps, replaced by transfer."""
        return {"structural": self.structural.encoder.input, "semantic": self.semantic.encoder.input}

"""Image preparation for the feature networks: the protocol's common resize, the net's size, normalisation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from eval.metrics.extractors import ExtractorSpec
from eval.metrics.pixel import resize_bilinear
from eval.metrics.protocol import MetricProtocol


def resize(x: torch.Tensor, size: int, interpolation: str, antialias: bool) -> torch.Tensor:
    """Square resize of [N, C, H, W] images in [0, 1], half-pixel centres; bicubic output clamped to [0, 1]."""
    if interpolation == "bilinear":
        return resize_bilinear(x, size, antialias=antialias)
    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=antialias).clamp_(0, 1)


def common_images(images: torch.Tensor, protocol: MetricProtocol) -> torch.Tensor:
    """The protocol's first step, shared by every metric (mindeye: 256 px bilinear without antialias)."""
    if protocol.common_size is None:
        return images
    return resize(images, protocol.common_size, "bilinear", protocol.antialias)


def network_input(images: torch.Tensor, spec: ExtractorSpec, protocol: MetricProtocol) -> torch.Tensor:
    """Images [N, 3, H, W] in [0, 1] -> the normalised input of `spec`'s network, float32."""
    x = images.float()
    if protocol.networks_from_common:
        x = common_images(x, protocol)
    x = resize(x, spec.size, spec.interpolation, spec.antialias)
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    inv_std = 1 / torch.tensor(spec.std, dtype=torch.float64).view(1, 3, 1, 1)
    return (x - mean).mul_(inv_std.to(x.dtype).to(x.device))

"""The extractor networks: build an architecture, load a state dict into it, read its nodes.

A `NodeNet` maps normalised images [N, 3, S, S] to {node: float32 [N, D]} (each node's output flattened).
Weights come from `eval.metrics.weights` (local files) or `eval.metrics.seeded` (seeded, calibrated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from eval.errors import ConfigError, InputError

# The tiny CLIP vision tower of the seeded fallback (when no trained CLIP is available): a ViT at 64 px.
SEEDED_CLIP_CONFIG = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    image_size=64,
    patch_size=8,
    projection_dim=128,
)


class NodeNet(nn.Module):
    """Runs a network and returns the flattened outputs of `nodes`."""

    def __init__(self, body: nn.Module, nodes: tuple[str, ...]) -> None:
        super().__init__()
        self.body = body
        self.nodes = nodes

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.body(x)
        return {node: out[node].flatten(1).float() for node in self.nodes}


class _TorchvisionNodes(nn.Module):
    """A torchvision classifier traced up to its nodes (what follows the last one is never computed)."""

    def __init__(self, model: nn.Module, nodes: tuple[str, ...]) -> None:
        super().__init__()
        from torchvision.models.feature_extraction import create_feature_extractor

        self.graph = create_feature_extractor(model, return_nodes={n: n for n in nodes})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.graph(x)


class _ClipEmbeds(nn.Module):
    """OpenAI CLIP through open_clip: `encode_image`, the 768-d projection, not normalised."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"embeds": self.model.encode_image(x)}


class _HfClipEmbeds(nn.Module):
    """A transformers `CLIPVisionModelWithProjection`: `image_embeds`, the projected pooled output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"embeds": self.model(pixel_values=x).image_embeds}


def build_torchvision(architecture: str, *, for_pretrained: bool) -> nn.Module:
    """The torchvision architecture as its weights builder makes it (Inception: transform_input=True).

    Args:
        architecture: "alexnet", "inception_v3", "efficientnet_b1" or "resnet50".
        for_pretrained: Build the layout the published state dict has (Inception's auxiliary head, no random
            initialisation scheme); otherwise initialise with torchvision's own scheme from torch's seed.
    """
    import torchvision.models as tvm

    if architecture == "alexnet":
        return tvm.alexnet()
    if architecture == "inception_v3":
        return tvm.inception_v3(aux_logits=for_pretrained, transform_input=True, init_weights=not for_pretrained)
    if architecture == "efficientnet_b1":
        return tvm.efficientnet_b1()
    if architecture == "resnet50":
        return tvm.resnet50()
    raise ConfigError(f"architecture {architecture!r} is not a torchvision classifier")


def swav_trunk_state(checkpoint: Mapping[str, Any], model: nn.Module, path: str) -> dict[str, torch.Tensor]:
    """SwAV's checkpoint as a torchvision ResNet-50 state dict: `module.` prefixes removed, heads dropped.

    Raises:
        InputError: A trunk weight is missing (fc is unused, the pooled features are read).
    """
    state = checkpoint.get("state_dict", checkpoint)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state and not k.startswith("fc.")]
    if missing:
        raise InputError(
            f"SwAV weight file {path}: expected ResNet-50 trunk keys (prefixed 'module.'), "
            f"missing {len(missing)} (first: {missing[0]})"
        )
    return {k: v for k, v in state.items() if k in wanted}


def load_state(model: nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """Load `state` strictly into `model`, with a one-line error naming the file."""
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[:2]
        raise InputError(f"weight file {path}: does not fit the architecture: {' '.join(first)}") from None


def wrap(architecture: str, model: nn.Module, nodes: tuple[str, ...]) -> NodeNet:
    """A NodeNet reading `nodes` of `model` (a torchvision classifier, an open_clip or a transformers CLIP)."""
    if architecture == "inception_v3" and getattr(model, "AuxLogits", None) is not None:
        model.aux_logits = False
        model.AuxLogits = None  # unused by the avgpool node; dropping it keeps tracing to the eval path
    if architecture == "clip_vit_l14":
        body = _HfClipEmbeds(model) if hasattr(model, "vision_model") else _ClipEmbeds(model)
    else:
        body = _TorchvisionNodes(model, nodes)
    return NodeNet(body, nodes).eval()


def load_clip_file(path: str, openai_release: bool) -> nn.Module:
    """OpenAI CLIP ViT-L/14 from a local file: OpenAI's own release, or an open_clip state dict (HF cache)."""
    import open_clip

    if openai_release:
        from open_clip.openai import load_openai_model

        return load_openai_model(path, device="cpu").eval()
    model = open_clip.create_model("ViT-L-14", pretrained=path, force_quick_gelu=True, load_weights=True)
    return model.eval()

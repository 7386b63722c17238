"""Versatile Diffusion's dual attention, and the one upstream incompatibility it has today.

VD's image UNet mixes two conditions in every attention block: a `DualTransformer2DModel` holds the image UNet's
transformer (for image tokens) and the text UNet's transformer at the same place (for text tokens), and adds
their residuals weighted by `mix_ratio` (the weight of the text condition).

Compatibility: in the pinned diffusers (0.42.x) `DualTransformer2DModel.forward` does not accept the
`encoder_attention_mask` keyword that the UNet's cross-attention blocks pass, so any call of a dual-guided UNet
raises `TypeError` (diffusers issue #13651, fix proposed in PR #13711). `DualTransformer` below accepts the
keyword (VD never uses a mask, so a mask is refused rather than silently ignored). Once diffusers accepts it,
`UPSTREAM_ACCEPTS_MASK` turns true and the upstream class is used as it is; this module then shrinks to the
conversion helpers.
"""

from __future__ import annotations

import inspect

import torch
from diffusers import Transformer2DModel, UNet2DConditionModel
from diffusers.models.transformers.dual_transformer_2d import DualTransformer2DModel

UPSTREAM_ACCEPTS_MASK = "encoder_attention_mask" in inspect.signature(DualTransformer2DModel.forward).parameters
# Condition order of the concatenated tokens: text first, then image (VD's `condition_types=("text", "image")`).
TEXT_TRANSFORMER, IMAGE_TRANSFORMER = 1, 0


class DualTransformer(DualTransformer2DModel):
    """`DualTransformer2DModel` that accepts the `encoder_attention_mask` keyword the UNet blocks pass."""

    def forward(  # noqa: D102 - same contract as the parent
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        timestep: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cross_attention_kwargs: dict | None = None,
        return_dict: bool = True,
        encoder_attention_mask: torch.Tensor | None = None,
    ):
        if encoder_attention_mask is not None:
            raise ValueError("DualTransformer: VD conditions are unmasked; an encoder_attention_mask was passed")
        return super().forward(
            hidden_states,
            encoder_hidden_states,
            timestep=timestep,
            attention_mask=attention_mask,
            cross_attention_kwargs=cross_attention_kwargs,
            return_dict=return_dict,
        )


DUAL_CLASS: type[DualTransformer2DModel] = DualTransformer2DModel if UPSTREAM_ACCEPTS_MASK else DualTransformer


def _transformer_names(unet: torch.nn.Module) -> list[str]:
    return [name for name, module in unet.named_modules() if type(module) is Transformer2DModel]


def convert_to_dual(image_unet: UNet2DConditionModel, text_unet: torch.nn.Module) -> None:
    """Replace each transformer of `image_unet` by a dual one holding it and `text_unet`'s twin, in place."""
    names = _transformer_names(image_unet)
    if not names:
        raise ValueError("convert_to_dual: the image UNet has no Transformer2DModel blocks (already converted?)")
    for name in names:
        parent_name, index = name.rsplit(".", 1)
        image_transformer = image_unet.get_submodule(parent_name)[int(index)]
        text_transformer = text_unet.get_submodule(parent_name)[int(index)]
        config = image_transformer.config
        # Built on the meta device: its two placeholder transformers are replaced at once, never initialised.
        with torch.device("meta"):
            dual = DUAL_CLASS(
                num_attention_heads=config.num_attention_heads,
                attention_head_dim=config.attention_head_dim,
                in_channels=config.in_channels,
                num_layers=config.num_layers,
                dropout=config.dropout,
                norm_num_groups=config.norm_num_groups,
                cross_attention_dim=config.cross_attention_dim,
                attention_bias=config.attention_bias,
                sample_size=config.sample_size,
                num_vector_embeds=config.num_vector_embeds,
                activation_fn=config.activation_fn,
                num_embeds_ada_norm=config.num_embeds_ada_norm,
            )
        dual.transformers = torch.nn.ModuleList([image_transformer, text_transformer])
        image_unet.get_submodule(parent_name)[int(index)] = dual
    image_unet.register_to_config(dual_cross_attention=True)


def revert_dual(image_unet: UNet2DConditionModel, text_unet: torch.nn.Module) -> None:
    """Undo `convert_to_dual`: image transformers back into `image_unet`, text ones into `text_unet`."""
    for name, module in list(image_unet.named_modules()):
        if isinstance(module, DualTransformer2DModel):
            parent_name, index = name.rsplit(".", 1)
            image_unet.get_submodule(parent_name)[int(index)] = module.transformers[IMAGE_TRANSFORMER]
            text_unet.get_submodule(parent_name)[int(index)] = module.transformers[TEXT_TRANSFORMER]
    image_unet.register_to_config(dual_cross_attention=False)


def set_conditions(image_unet: torch.nn.Module, mix_ratio: float, text_length: int, image_length: int) -> None:
    """Set every dual block to read [text tokens, image tokens] and weight the text residual by `mix_ratio`."""
    found = False
    for module in image_unet.modules():
        if isinstance(module, DualTransformer2DModel):
            module.mix_ratio = float(mix_ratio)
            module.condition_lengths = [int(text_length), int(image_length)]
            module.transformer_index_for_condition = [TEXT_TRANSFORMER, IMAGE_TRANSFORMER]
            found = True
    if not found:
        raise ValueError("set_conditions: the UNet has no dual transformer blocks; call convert_to_dual first")

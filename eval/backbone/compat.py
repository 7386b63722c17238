"""Versatile Diffusion's dual attention, and the one upstream incompatibility it has today.

VD's image UNet mixes two conditions in every attention block: a `DualTransformer2DModel` holds the image UNet's
transformer (for image tokens) and the text UNet's transformer at the same place (for text tokens), and adds
their residuals weighted by `mix_ratio` (the weight of the text condition).

`DualTransformer` below replaces the upstream class for two reasons. In the pinned diffusers (0.42.x)
`DualTransformer2DModel.forward` does not accept the `encoder_attention_mask` keyword that the UNet's
cross-attention blocks pass, so any call of a dual-guided UNet raises `TypeError` (diffusers issue #13651, fix
proposed in PR #13711); ours accepts it (VD never uses a mask, so a mask is refused rather than silently ignored).
And it skips the transformer of a condition weighted 0, which upstream runs and multiplies by 0.
"""

from __future__ import annotations

import torch
from diffusers import Transformer2DModel, UNet2DConditionModel
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.transformers.dual_transformer_2d import DualTransformer2DModel

# Condition order of the concatenated tokens: text first, then image (VD's `condition_types=("text", "image")`).
TEXT_TRANSFORMER, IMAGE_TRANSFORMER = 1, 0


class DualTransformer(DualTransformer2DModel):
    """`DualTransformer2DModel` that accepts the `encoder_attention_mask` keyword the UNet blocks pass, and skips
    the transformer of a condition weighted 0 (text-only or image-only guidance).

    The skip changes no bit: upstream adds that condition's residual times 0, which is +-0 for finite values.
    It halves the attention work of Takagi's text-only and MindEye's image-only generation and of HAVIR's
    `no_cap` and `no_img`.
    """

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
        weights = (self.mix_ratio, 1 - self.mix_ratio)
        weighted = []
        tokens_start = 0
        for i in range(2):
            condition = encoder_hidden_states[:, tokens_start : tokens_start + self.condition_lengths[i]]
            tokens_start += self.condition_lengths[i]
            if weights[i] == 0:
                continue
            encoded = self.transformers[self.transformer_index_for_condition[i]](
                hidden_states,
                encoder_hidden_states=condition,
                timestep=timestep,
                cross_attention_kwargs=cross_attention_kwargs,
                return_dict=False,
            )[0]
            weighted.append((encoded - hidden_states) * weights[i])
        output = (weighted[0] + weighted[1] if len(weighted) == 2 else weighted[0]) + hidden_states
        return (output,) if not return_dict else Transformer2DModelOutput(sample=output)


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
            dual = DualTransformer(
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

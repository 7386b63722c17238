"""CLIP tokens as Versatile Diffusion computes them (the conditions its UNet was trained on).

- Image tokens: visual_projection(post_layernorm(last_hidden_state)) for every token (class token first), divided
  by the norm of the class token's projection: [n, 1 + patches, projection_dim] (257 x 768 for ViT-L/14).
- Text tokens: text_projection(last_hidden_state) for every position, divided by the norm of the pooled text
  embedding: [n, max_length, projection_dim] (77 x 768).
- Unconditional inputs: the tokens of an empty prompt and of a mid-grey image.
"""

from __future__ import annotations

import torch


def image_tokens(image_encoder: torch.nn.Module, pixel_values: torch.Tensor) -> torch.Tensor:
    """VD image tokens of normalised vision inputs [n, 3, S, S]."""
    hidden = image_encoder.vision_model(pixel_values=pixel_values).last_hidden_state
    tokens = image_encoder.visual_projection(image_encoder.vision_model.post_layernorm(hidden))
    return tokens / tokens[:, :1].norm(dim=-1, keepdim=True)


def text_tokens(text_encoder: torch.nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    """VD text tokens of padded token ids [n, max_length]."""
    output = text_encoder(input_ids=input_ids)
    tokens = text_encoder.text_projection(output.last_hidden_state)
    return tokens / output.text_embeds.norm(dim=-1, keepdim=True)[:, None, :]

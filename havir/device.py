"""Where HAVIR computes: the device its model lives on, and when its forward passes run in mixed precision.

The rule: autocast only on CUDA, and only when `HavirConfig.mixed_precision` asks for it ("bf16" in the paper
preset); everywhere else the forward passes run in float32, exactly as without this module.

Why bf16 keeps the numbers: autocast changes only the dtype in which matmuls and convolutions run. The weights,
their gradients and AdamW's moments stay float32 (autocast casts a bf16 copy of a weight for each product, and
the update is applied to the float32 master weight), the losses are computed in float32 from float32 copies of
the outputs, and bf16 has float32's exponent range, so nothing overflows and no loss scaling is needed. What
changes is the rounding of each product's inputs (8 bits of mantissa), noise well below what training tolerates.
fp16 has a narrow exponent range: its gradients are scaled (`grad_scaler`) so that small ones do not vanish.
"""

from __future__ import annotations

import contextlib

import torch

from eval.errors import ConfigError

PRECISIONS: dict[str, torch.dtype | None] = {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of `model`'s parameters: where its batches and targets must go."""
    return next(model.parameters()).device


def autocast_dtype(device: str | torch.device, mixed_precision: str) -> torch.dtype | None:
    """The autocast dtype for `device` under `mixed_precision`, or None when the forward runs in float32."""
    if mixed_precision not in PRECISIONS:
        raise ConfigError(f"havir mixed_precision: expected one of {', '.join(PRECISIONS)}, found {mixed_precision!r}")
    return PRECISIONS[mixed_precision] if torch.device(device).type == "cuda" else None


def autocast(device: str | torch.device, mixed_precision: str) -> contextlib.AbstractContextManager:
    """A fresh context for one forward pass: CUDA autocast when the rule says so, else nothing at all."""
    dtype = autocast_dtype(device, mixed_precision)
    return torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()


def grad_scaler(device: str | torch.device, mixed_precision: str) -> torch.amp.GradScaler:
    """Loss scaling for fp16 on CUDA; disabled otherwise (then it passes the loss and the step through)."""
    return torch.amp.GradScaler("cuda", enabled=autocast_dtype(device, mixed_precision) == torch.float16)

"""A stand-in accelerator for CPU tests: code runs on the CPU with real values, and fails where CUDA would fail.

"cpu:0" is a valid torch device that computes on the CPU, yet `.to("cpu:0")` is a request a `TorchFunctionMode`
can tell apart from "stay on the CPU". `StandInDevice` tracks which tensors are on the stand-in device:

- moved there: `t.to("cpu:0")`, `t.to(device_tensor)`, `Module.to("cpu:0")` (its parameters and buffers);
- created there: `device="cpu:0"`, or `device=t.device` of a tensor on it (its `.device` reads "cpu:0");
- computed from tensors on it (outputs of an op with one among its arguments);
- and back on the CPU after `.cpu()` or `.to("cpu")`.

An op whose arguments mix tensors on the device with CPU tensors of one or more dimensions raises, as CUDA
raises; 0-dim CPU tensors mix freely (as CUDA allows), and so do CPU indices into a device tensor. `.numpy()`
of a device tensor raises too. What it cannot see: code that never calls torch with a tensor (a Python float
that went through `.item()`), and ops inside C++ (they are checked by the call that reaches them).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

STAND_IN = torch.device("cpu", 0)
NAME = "cpu:0"

_TO = torch._C.TensorBase.to
_CPU = torch._C.TensorBase.cpu
_DEVICE = torch._C.TensorBase.device
_DATA = torch._C.TensorBase.data
# Calls that take tensors on different devices on CUDA too: copies between devices, and the check
# `Module.to` makes before swapping a parameter's data.
_CROSS_DEVICE = {"copy_", "__setitem__", "_has_compatible_shallow_copy_type"}
_TO_NUMPY = {"numpy", "__array__"}


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor in `value`, looking inside tuples, lists and dicts."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _is_stand_in(device: Any) -> bool:
    return isinstance(device, str | torch.device) and torch.device(device) == STAND_IN


class StandInDevice(TorchFunctionMode):
    """While active, "cpu:0" behaves as a separate device (see the module's docstring).

    Attributes:
        checked: Calls that had a tensor on the device among their arguments (a test can assert some ran).
    """

    def __init__(self) -> None:
        super().__init__()
        self._on: dict[int, weakref.ref] = {}
        self.checked = 0

    def on_device(self, tensor: torch.Tensor) -> bool:
        ref = self._on.get(id(tensor))
        return ref is not None and ref() is tensor

    def _mark(self, tensor: torch.Tensor, on: bool) -> None:
        key = id(tensor)
        if on:
            self._on[key] = weakref.ref(tensor, lambda _, key=key: self._on.pop(key, None))
        else:
            self._on.pop(key, None)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        owner, name = getattr(func, "__self__", None), getattr(func, "__name__", "")
        if owner is _DEVICE and name == "__get__":
            return STAND_IN if self.on_device(args[0]) else func(*args, **kwargs)
        if owner is _DATA and name == "__set__":  # `param.data = moved` in Module.to
            func(*args, **kwargs)
            self._mark(args[0], self.on_device(args[1]))
            return None
        if func is _TO or func is _CPU:
            return self._move(func, args, kwargs)
        tensors = list(_tensors((args, kwargs)))
        on = [self.on_device(t) for t in tensors]
        if any(on):
            self.checked += 1
            if name in _TO_NUMPY:
                raise RuntimeError(f"{name}: a tensor on the device {NAME} must be copied to the CPU first")
            self._check_mix(name, args, tensors, on)
        out = func(*args, **kwargs)
        device = kwargs.get("device")
        result_on = _is_stand_in(device) if device is not None else any(on)
        if name in _CROSS_DEVICE:
            return out  # the destination stays where it was
        for tensor in _tensors(out):
            self._mark(tensor, result_on)
        return out

    def _check_mix(self, name: str, args: tuple, tensors: list[torch.Tensor], on: list[bool]) -> None:
        if name in _CROSS_DEVICE:
            return
        if name == "__getitem__" and self.on_device(args[0]):
            return  # CPU indices into a device tensor are fine
        if name == "__getitem__":  # a CPU tensor indexed by device tensors: only 0-dim ones (read as numbers)
            indices = [list(t.shape) for t in tensors[1:] if self.on_device(t) and t.dim() > 0]
            if indices:
                raise RuntimeError(f"__getitem__: a CPU tensor indexed by tensor(s) of shape {indices} on {NAME}")
            return
        left = [list(t.shape) for t, o in zip(tensors, on, strict=True) if not o and t.dim() > 0]
        if left:
            raise RuntimeError(
                f"{name}: expected all tensors on the device {NAME}, found CPU tensor(s) of shape {left} "
                "among its arguments (a tensor left behind)"
            )

    def _move(self, func, args: tuple, kwargs: dict) -> torch.Tensor:
        source, rest = args[0], args[1:]
        if func is _CPU:
            target = False
        elif rest and isinstance(rest[0], torch.Tensor):
            target = self.on_device(rest[0])
        elif isinstance(kwargs.get("other"), torch.Tensor):
            target = self.on_device(kwargs["other"])
        else:
            device = torch._C._nn._parse_to(*rest, **kwargs)[0]
            target = None if device is None else device == STAND_IN
        if target is None:
            target = self.on_device(source)
        if self.on_device(source):
            self.checked += 1
        out = func(*args, **kwargs)
        if out is source and target != self.on_device(source):
            out = out.view_as(out)  # a new tensor, so that the source keeps its own device
        self._mark(out, target)
        return out

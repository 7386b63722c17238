"""Size presets of the trained decoders: `synth` for SynthNSD-sized training sets, `paper` for real NSD.

A decoder keeps a table of presets (name -> the configuration fields it sets) and declares a `preset` option
(`preset_option`); its other training options default to None, "the preset's value". `resolve` picks the preset
("auto": by the number of training images) and applies, in order, the preset's fields, the decoder's own fixed
fields (an ablation, the backbone) and every option given, so an option always overrides its preset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from eval.options import as_dict, option

AUTO = "auto"
SMALL, LARGE = "synth", "paper"
LARGE_TRAINING_SET = 5000  # training images from which the paper preset is the default
C = TypeVar("C")


def preset_option(presets: Mapping[str, Any]) -> Any:
    """The declared `preset` option of a decoder whose presets are `presets` (default: auto)."""
    return option(
        AUTO,
        choices=(AUTO, *presets),
        help=f"size preset; auto: {LARGE} from {LARGE_TRAINING_SET:,} training images, else {SMALL}",
    )


def preset_name(choice: str, n_train: int) -> str:
    """The preset `choice` names, or for "auto" the one that suits a training split of `n_train` images."""
    if choice != AUTO:
        return choice
    return LARGE if n_train >= LARGE_TRAINING_SET else SMALL


def resolve(
    base: C, presets: Mapping[str, Mapping[str, Any]], options: Any, n_train: int, fixed: Mapping[str, Any]
) -> C:
    """`base` (a frozen configuration with a `preset` field) with the chosen preset's fields, then `fixed`, then
    every option of `options` that is given (not None), applied.

    Args:
        base: The configuration's defaults.
        presets: Preset name -> the fields it sets.
        options: The decoder's declared options, with a `preset` field.
        n_train: Training images (what "auto" chooses by).
        fixed: Fields the decoder sets itself (an ablation's, the backbone).
    """
    preset = preset_name(options.preset, n_train)
    fields = {"preset": preset, **presets[preset], **fixed}  # later entries override earlier ones
    fields |= {name: value for name, value in as_dict(options).items() if name != "preset" and value is not None}
    return dataclasses.replace(base, **fields)

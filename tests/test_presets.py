"""Size presets: chosen by the training-set size unless named; fixed fields, then given options, override them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from eval.options import declared
from eval.presets import LARGE_TRAINING_SET, preset_name, preset_option, resolve

PRESETS = {"synth": {}, "paper": {"hidden": 2048, "epochs": 200, "use_text": True}}


@dataclass(frozen=True)
class ToyConfig:
    preset: str = "synth"
    hidden: int = 256
    epochs: int = 30
    use_text: bool = True
    backbone: str = "minivd"


@dataclass(frozen=True)
class ToyOptions:
    preset: str = preset_option(PRESETS)
    epochs: int | None = None
    hidden: int | None = None


@pytest.mark.parametrize(
    "choice, n_train, expected",
    [("auto", LARGE_TRAINING_SET - 1, "synth"), ("auto", LARGE_TRAINING_SET, "paper"), ("synth", 9000, "synth"),
     ("paper", 10, "paper")],
)
def test_auto_chooses_by_training_set_size_and_a_named_preset_wins(choice: str, n_train: int, expected: str) -> None:
    assert preset_name(choice, n_train) == expected


def test_preset_then_fixed_fields_then_given_options() -> None:
    paper = resolve(ToyConfig(), PRESETS, ToyOptions(), 9000, {"use_text": False, "backbone": "vd"})
    assert paper == ToyConfig(preset="paper", hidden=2048, epochs=200, use_text=False, backbone="vd")
    given = resolve(ToyConfig(), PRESETS, ToyOptions(preset="paper", epochs=3), 10, {})
    assert (given.preset, given.hidden, given.epochs) == ("paper", 2048, 3)  # None (hidden) keeps the preset's
    assert resolve(ToyConfig(), PRESETS, ToyOptions(hidden=64), 10, {}) == dataclasses.replace(ToyConfig(), hidden=64)


def test_the_preset_option_lists_auto_and_every_preset() -> None:
    (info,) = [info for info in declared(ToyOptions) if info.name == "preset"]
    assert info.default == "auto" and tuple(info.choices) == ("auto", "synth", "paper")
    assert info.help == "size preset; auto: paper from 5,000 training images, else synth"

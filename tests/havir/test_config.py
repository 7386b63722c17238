"""HAVIR's configuration: presets by data size, the ablation table, decoder options."""

from __future__ import annotations

import pytest

from eval.errors import ConfigError
from eval.options import parse_options
from havir.config import ABLATIONS, HavirConfig, HavirOptions, config_for

DEFAULT = HavirOptions()


def test_preset_follows_the_training_set_size() -> None:
    assert config_for(1000, None, DEFAULT).preset == "synth"
    paper = config_for(8859, None, DEFAULT)
    assert (paper.preset, paper.epochs, paper.batch_size) == ("paper", 200, 30)
    assert config_for(1000, None, HavirOptions(preset="paper")).hidden == paper.hidden


def test_ablations_change_only_their_fields() -> None:
    full = config_for(1000, None, DEFAULT)
    for name, fields in ABLATIONS.items():
        ablated = config_for(1000, name, DEFAULT)
        changed = {k for k in full.__dataclass_fields__ if getattr(full, k) != getattr(ablated, k)}
        assert changed == set(fields), name


def test_ablation_inputs() -> None:
    only_z = config_for(1000, "only_z", DEFAULT)
    assert (only_z.diffuse, only_z.use_image, only_z.use_text) == (False, False, False)
    assert not config_for(1000, "no_z", DEFAULT).use_latent
    split = config_for(1000, "no_split", DEFAULT)
    assert split.structural_group == split.semantic_group == "nsdgeneral"


def test_unknown_ablation_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"--ablation: expected one of only_z, .*found 'no_text'"):
        config_for(1000, "no_text", DEFAULT)


def test_options_are_typed_and_checked() -> None:
    parsed = parse_options(HavirOptions, [("strength", "0.5"), ("steps", "10")], "havir")
    assert (parsed.strength, parsed.steps, parsed.epochs) == (0.5, 10, None)
    assert config_for(1000, None, parsed).epochs == HavirConfig().epochs  # None: the preset's value
    with pytest.raises(ConfigError, match=r"--decoder-option strenght: unknown option .* Did you mean: strength\?"):
        parse_options(HavirOptions, [("strenght", "0.5")], "havir")
    with pytest.raises(ConfigError, match=r"--decoder-option steps=ten: expected an integer, found 'ten'"):
        parse_options(HavirOptions, [("steps", "ten")], "havir")
    with pytest.raises(ConfigError, match=r"--decoder-option strength: expected \(0, 1\], found 1.5"):
        parse_options(HavirOptions, [("strength", "1.5")], "havir")
    with pytest.raises(ConfigError, match=r"--decoder-option preset: expected auto \| synth \| paper, found 'big'"):
        parse_options(HavirOptions, [("preset", "big")], "havir")


def test_no_generation_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one of"):
        HavirConfig(use_latent=False, use_image=False, use_text=False)

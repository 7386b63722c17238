"""HAVIR's configuration: presets by data size, the ablation table, decoder options."""

from __future__ import annotations

import pytest

from eval.errors import ConfigError
from havir.config import ABLATIONS, HavirConfig, config_for, parse_options


def test_preset_follows_the_training_set_size() -> None:
    assert config_for(1000, None, {}).preset == "synth"
    paper = config_for(8859, None, {})
    assert (paper.preset, paper.epochs, paper.batch_size) == ("paper", 200, 30)
    assert config_for(1000, None, {"preset": "paper"}).hidden == paper.hidden


def test_ablations_change_only_their_fields() -> None:
    full = config_for(1000, None, {})
    for name, fields in ABLATIONS.items():
        ablated = config_for(1000, name, {})
        changed = {k for k in full.__dataclass_fields__ if getattr(full, k) != getattr(ablated, k)}
        assert changed == set(fields), name


def test_ablation_inputs() -> None:
    only_z = config_for(1000, "only_z", {})
    assert (only_z.diffuse, only_z.use_image, only_z.use_text) == (False, False, False)
    assert not config_for(1000, "no_z", {}).use_latent
    split = config_for(1000, "no_split", {})
    assert split.structural_group == split.semantic_group == "nsdgeneral"


def test_unknown_ablation_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"--ablation: expected one of only_z, .*found 'no_text'"):
        config_for(1000, "no_text", {})


def test_options_are_typed_and_checked() -> None:
    assert parse_options({"strength": "0.5", "steps": "10"}) == {"strength": 0.5, "steps": 10}
    with pytest.raises(ConfigError, match=r"--decoder-option strenght: unknown option .* expected one of"):
        parse_options({"strenght": "0.5"})
    with pytest.raises(ConfigError, match=r"--decoder-option steps=ten: expected an integer, found 'ten'"):
        parse_options({"steps": "ten"})
    with pytest.raises(ConfigError, match=r"havir option strength: expected a value in \(0, 1\], found 1.5"):
        config_for(1000, None, parse_options({"strength": "1.5"}))


def test_no_generation_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one of"):
        HavirConfig(use_latent=False, use_image=False, use_text=False)

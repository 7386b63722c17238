"""The decoder registry: lazy imports, did-you-mean, ablation checks, groups."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eval.decoders import DecoderSpec, Trainable
from eval.errors import ConfigError
from eval.registry import DECODERS, check_ablation, expand, resolve


def test_importing_the_registry_imports_no_plugin() -> None:
    code = "import sys, eval.registry; print(sorted(m for m in sys.modules if m.startswith('baselines')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_typo_suggests_the_close_name() -> None:
    with pytest.raises(ConfigError, match=r"Unknown decoder 'nearest_neighbor'\. Did you mean: nearest_neighbour\?"):
        expand("nearest_neighbor")


def test_unknown_name_lists_what_is_available() -> None:
    with pytest.raises(ConfigError, match=r"Available: .*ground_truth"):
        resolve("zzz")


def test_group_expands_in_order_without_duplicates() -> None:
    assert expand("random,reference") == ["random", "ground_truth", "mean_image", "nearest_neighbour"]


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_every_entry_resolves_to_a_spec_that_builds_a_decoder(name: str) -> None:
    from eval.decoders import BuildContext

    spec = resolve(name)
    assert isinstance(spec, DecoderSpec) and spec.name == name
    decoder = spec.build(BuildContext(device="cpu", seed=0, subject=1), spec.default_variant())
    assert decoder.meta.name == name and decoder.meta.kind == spec.kind
    assert callable(decoder.reconstruct)
    assert isinstance(decoder, Trainable)  # every reference decoder learns something from the training split


def test_ablation_of_a_decoder_without_ablations_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"Unknown ablation 'no_cap' for decoder 'random': it has no ablations"):
        check_ablation(resolve("random"), "no_cap")


def test_ablation_typo_suggests_the_close_name() -> None:
    spec = DecoderSpec("toy", "method", "toy", build=lambda c: None, ablations=("no_cap", "no_img"))
    check_ablation(spec, "no_cap")
    with pytest.raises(ConfigError, match=r"Did you mean: no_cap"):
        check_ablation(spec, "no_cp")

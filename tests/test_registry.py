"""The decoder registry: lazy imports, did-you-mean, ablation checks, groups."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eval.decoders import DecoderSpec, Trainable
from eval.errors import ConfigError
from eval.registry import DECODERS, ablations_to_run, check_ablation, expand, resolve


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


def test_all_is_every_decoder_that_runs_without_outside_input_references_first() -> None:
    everything = expand("all")
    assert sorted(everything) == sorted(set(DECODERS) - {"precomputed"})
    assert everything[:4] == expand("reference")
    assert everything[4:8] == ["havir", "brain_diffuser", "takagi", "mindeye"]


def test_ablation_all_is_the_full_model_then_every_declared_ablation() -> None:
    havir = resolve("havir")
    assert ablations_to_run(havir, "all") == [None, *havir.ablations]
    assert ablations_to_run(havir, "no_cap") == ["no_cap"]
    assert ablations_to_run(resolve("random"), "all") == [None]


def test_comparison_is_the_references_havir_and_the_baselines() -> None:
    assert expand("comparison") == [*expand("reference"), "havir", *expand("baseline")]


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

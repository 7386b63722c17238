"""Decoders by name. Entries are "module:attribute" strings, imported only when asked for, so importing the
harness never imports a torch-heavy plugin."""

from __future__ import annotations

import difflib
import importlib

from eval.decoders import DecoderSpec
from eval.errors import ConfigError

DECODERS: dict[str, str] = {
    "ground_truth": "baselines.reference:GROUND_TRUTH",
    "mean_image": "baselines.reference:MEAN_IMAGE",
    "random": "baselines.reference:RANDOM",
    "nearest_neighbour": "baselines.nearest_neighbour:NEAREST_NEIGHBOUR",
    "vd_autokl": "baselines.vd_oracle:VD_AUTOKL",
    "vd_img2img_oracle": "baselines.vd_oracle:VD_IMG2IMG_ORACLE",
    "vd_tokens_oracle": "baselines.vd_oracle:VD_TOKENS_ORACLE",
    "vd_text_oracle": "baselines.vd_oracle:VD_TEXT_ORACLE",
    "colour_histogram": "baselines.reference:COLOUR_HISTOGRAM",
    "havir": "havir.decoder:HAVIR",
    "precomputed": "baselines.precomputed:PRECOMPUTED",
    "mindeye": "baselines.mindeye:MINDEYE",
    "brain_diffuser": "baselines.brain_diffuser:BRAIN_DIFFUSER",
    "takagi": "baselines.takagi:TAKAGI",
}
# Names that stand for several decoders on the command line.
GROUPS: dict[str, tuple[str, ...]] = {
    "reference": ("ground_truth", "mean_image", "random", "nearest_neighbour"),
    # Upper bounds and probes that read the true images and captions: the backbone fed true inputs, and colour alone.
    "oracle": ("vd_autokl", "vd_img2img_oracle", "vd_tokens_oracle", "vd_text_oracle", "colour_histogram"),
    # Published decoders of the field reimplemented behind the interface (trained here, on the training split only).
    "baseline": ("brain_diffuser", "takagi", "mindeye"),
}
# The paper-style comparison: the floors and bounds, the method and the published decoders.
GROUPS["comparison"] = (*GROUPS["reference"], "havir", *GROUPS["baseline"])
# Decoders that score something of their own only when given outside input (`precomputed` needs --recon).
NEEDS_INPUT = ("precomputed",)
# Every registered decoder that runs on its own: the references first (cheap), then the method, the baselines and
# the backbone's upper bounds.
GROUPS["all"] = tuple(
    name
    for name in dict.fromkeys([*GROUPS["comparison"], *GROUPS["oracle"], *DECODERS])
    if name not in NEEDS_INPUT
)


def _unknown(kind: str, name: str, choices: list[str]) -> ConfigError:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ConfigError(f"Unknown {kind} '{name}'.{hint} Available: {', '.join(choices)}")


def expand(names: str) -> list[str]:
    """'havir,reference' -> ['havir', 'ground_truth', ...]; order kept, duplicates dropped."""
    out: list[str] = []
    for name in (part.strip() for part in names.split(",")):
        for item in GROUPS.get(name, (name,)):
            if item not in DECODERS:
                raise _unknown("decoder", item, sorted(DECODERS) + sorted(GROUPS))
            if item not in out:
                out.append(item)
    if not out:
        raise ConfigError("--decoder: expected at least one decoder name, found none")
    return out


def resolve(name: str) -> DecoderSpec:
    """The spec registered under `name` (imports its module now)."""
    if name not in DECODERS:
        raise _unknown("decoder", name, sorted(DECODERS))
    module_name, attribute = DECODERS[name].split(":")
    spec = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(spec, DecoderSpec):
        raise TypeError(f"registry entry {DECODERS[name]} is not a DecoderSpec")
    return spec


# `--ablation all`: the full model and every ablation the decoder declares (its ablation table).
ALL_ABLATIONS = "all"


def ablations_to_run(spec: DecoderSpec, ablation: str | None) -> list[str | None]:
    """The ablations `--ablation` asks of `spec`: one, or with `all` the full model (None) then each declared one
    (a decoder without ablations runs its full model)."""
    if ablation != ALL_ABLATIONS:
        return [ablation]
    return [None, *spec.ablations]


def check_ablation(spec: DecoderSpec, ablation: str | None) -> None:
    if ablation is None or ablation in spec.ablations:
        return
    if not spec.ablations:
        raise ConfigError(f"Unknown ablation '{ablation}' for decoder '{spec.name}': it has no ablations")
    raise _unknown(f"ablation for decoder '{spec.name}'", ablation, list(spec.ablations))

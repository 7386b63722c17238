"""One evaluation run: check every choice, then for each subject and decoder variant run the pipeline.

Everything a user can get wrong is checked before any data is read: decoder names, ablations, options against
each decoder's declaration, flags that mean nothing to a chosen decoder, device, protocol, output folder and
backbone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from eval.atomic import atomic_path
from eval.cache import Cache
from eval.config import RunConfig
from eval.data.source import DataSource, resolve_source
from eval.data.stimuli import Stimuli
from eval.decoders import DecoderSpec, Transfer, Variant
from eval.errors import ConfigError, HarnessError
from eval.metrics.protocol import resolve_protocol
from eval.options import NoOptions, declared, parse_options
from eval.pipeline import TestSet, check_device, evaluate, subject_data
from eval.registry import ALL_ABLATIONS, ablations_to_run, check_ablation, resolve

if TYPE_CHECKING:
    from eval.data.subject import SubjectData
    from eval.metrics.feature_score import FeatureScorer

log = logging.getLogger(__name__)


def check_writable(folder: Path) -> None:
    """Fail before any work if the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / ".write-check") as probe:
            probe.write_text("ok")
        (folder / ".write-check").unlink(missing_ok=True)  # another process may have removed it already
    except (OSError, HarnessError) as exc:
        raise ConfigError(f"--out: cannot write to folder {folder}: {getattr(exc, 'strerror', None) or exc}") from None


# Flags that set a declared option; a decoder that does not declare it refuses the flag.
OPTION_FLAGS = {"recon": "--recon", "recon_ids": "--recon-ids", "recon_order": "--recon-order"}


def option_flags(spec: DecoderSpec, config: RunConfig) -> list[tuple[str, str]]:
    """The (option, value) pairs set by flags such as `--recon`, each checked against the decoder's declaration."""
    table = {info.name: info for info in declared(spec.options)}
    pairs = []
    for name, flag in OPTION_FLAGS.items():
        value = getattr(config, name)
        if value is None:
            continue
        if name not in table:
            raise ConfigError(f"{flag}: decoder '{spec.name}' has no option {name} (see --list-options); drop {flag}")
        if table[name].choices and value not in table[name].choices:
            raise ConfigError(f"{flag}: expected {table[name].accepts()}, found {value!r}")
        pairs.append((name, value))
    return pairs


def variant_for(spec: DecoderSpec, config: RunConfig) -> Variant:
    """The decoder's variant from the command line; a flag that means nothing to the decoder is refused."""
    check_ablation(spec, config.ablation)
    if config.decoder_options and spec.options is NoOptions:
        found = config.decoder_options[0][0]
        raise ConfigError(f"--decoder-option {found}: decoder '{spec.name}' has no options")
    if config.vd_model is not None and not spec.uses_backbone:
        raise ConfigError(f"--vd-model: decoder '{spec.name}' does not generate through a backbone; drop --vd-model")
    if config.transfer_from is not None and not spec.transfers:
        raise ConfigError(f"--transfer-from: decoder '{spec.name}' has no transfer between subjects")
    if config.finetune_sessions is not None and config.transfer_from is None:
        raise ConfigError("--finetune-sessions: only means something with --transfer-from, found no --transfer-from")
    transfer = None
    if config.transfer_from is not None:
        transfer = Transfer(config.transfer_from, config.finetune_sessions or 1)
        if config.transfer_from in config.subjects:
            raise ConfigError(
                f"--transfer-from {config.transfer_from}: expected another subject than the evaluated ones "
                f"({', '.join(map(str, config.subjects))})"
            )
    variant = Variant(
        ablation=config.ablation,
        options=parse_options(spec.options, [*option_flags(spec, config), *config.decoder_options], spec.name),
        backbone=config.vd_model,
        transfer=transfer,
    )
    if spec.check is not None:
        spec.check(variant, config.subjects)
    return variant


def check_config(config: RunConfig) -> list[tuple[DecoderSpec, Variant]]:
    """Every choice of `config` checked; the decoders with their variants."""
    if config.jobs < 1:
        raise ConfigError(f"--jobs: expected a positive number of worker processes, found {config.jobs}")
    if config.tag is not None and len(config.decoders) > 1:
        raise ConfigError(f"--tag: names one decoder's variant, found {len(config.decoders)} decoders")
    specs = [resolve(name) for name in config.decoders]
    if config.ablation == ALL_ABLATIONS and not any(spec.ablations for spec in specs):
        names = ", ".join(config.decoders)
        raise ConfigError(f"--ablation all: expected a decoder with ablations, found none in {names}")
    jobs = [
        (spec, variant_for(spec, replace(config, ablation=ablation)))
        for spec in specs
        for ablation in ablations_to_run(spec, config.ablation)
    ]
    check_device(config.device)
    if config.protocol != "auto":
        resolve_protocol(config.protocol, "nsd")  # a typo fails before any data is read
    if config.tag is not None:
        from eval.results import check_tag

        check_tag(config.tag)
    check_writable(config.out_dir)
    if config.vd_model is not None:
        from eval.backbone.locate import locate_model

        locate_model(config.vd_model)  # a missing backbone fails now, before any data is prepared
    if config.braindiffuser_dir is not None and config.nsd_root is None:
        raise ConfigError("--braindiffuser-dir: needs --nsd-root (its design file names the rows), found none")
    return jobs


@dataclass(frozen=True)
class Opened:
    """What every decoder of a run shares: the resolved configuration, the data and the metric networks."""

    config: RunConfig  # protocol and weight source resolved (never "auto")
    source: DataSource
    scorer: FeatureScorer
    stimuli: Stimuli

    def test_sets(self) -> Iterator[tuple[SubjectData, TestSet]]:
        """Each subject's prepared data and test set, in the configuration's order."""
        for subject in self.config.subjects:
            data = subject_data(self.config, self.source, subject)
            yield data, TestSet.of(self.stimuli, data)


def open_run(config: RunConfig, announce: bool = True) -> Opened:
    """Resolve the data source (generating SynthNSD on first use) and load every extractor.

    Args:
        announce: Print the dataset and the metric protocol (a worker of `eval.parallel` does not).
    """
    source = resolve_source(config.nsd_root, Cache.at(config.cache_dir), config.synth_preset)
    if announce:
        print(f"dataset: {source.label}", flush=True)
    config, scorer = feature_scorer(config, source)
    if announce:
        print(f"protocol: {config.protocol}; weights: {scorer.note()}", flush=True)
    return Opened(config, source, scorer, Stimuli(source.root))


def run(config: RunConfig, announce: bool = True) -> list[Path]:
    """Evaluate every (decoder, subject) of `config`; return the results files written."""
    jobs = check_config(config)
    opened = open_run(config, announce)
    written = []
    for data, test_set in opened.test_sets():
        for spec, variant in jobs:
            written.append(
                evaluate(
                    spec, variant, opened.config, opened.source, opened.stimuli, data, test_set, opened.scorer
                )
            )
    return written


def feature_scorer(config: RunConfig, source: DataSource) -> tuple[RunConfig, FeatureScorer]:
    """Resolve protocol and weight source for the dataset, and load every extractor (missing weights fail now).

    Returns:
        The config with both resolved (names, never "auto"), and the scorer shared by all decoders.
    """
    from eval.metrics.feature_score import FeatureScorer
    from eval.metrics.seeded import calibration_set
    from eval.metrics.weights import resolve_weight_source

    protocol = resolve_protocol(config.protocol, source.name)
    weights = resolve_weight_source(config.weights_source, source.name)
    if config.weights_dir is not None and not config.weights_dir.is_dir():
        raise ConfigError(f"--weights-dir: expected a folder of weight files, found nothing at {config.weights_dir}")
    config = replace(config, protocol=protocol.name, weights_source=weights)
    scorer = FeatureScorer(
        protocol,
        weights,
        calibration=lambda: calibration_set(source.root),
        weights_dir=config.weights_dir,
        cache=Cache.at(config.cache_dir),
        device=config.device,
    )
    scorer.load_all()
    return config, scorer

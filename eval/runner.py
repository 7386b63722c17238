"""One evaluation run: data -> fit or load -> reconstruct -> score -> results files -> leaderboard."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from eval.atomic import atomic_folder, atomic_path
from eval.cache import Cache
from eval.config import RunConfig
from eval.data.prepare import load_subject
from eval.data.source import DataSource, resolve_source
from eval.data.stimuli import Stimuli, test_set_fingerprint, uint8_to_tensor
from eval.data.subject import SubjectData
from eval.decoders import ArtifactWriter, BuildContext, Checkpointable, Decoder, DecoderSpec, TestInputs, Trainable
from eval.errors import ConfigError, HarnessError
from eval.metrics.protocol import resolve_protocol
from eval.registry import check_ablation, resolve

if TYPE_CHECKING:
    from eval.metrics.feature_score import FeatureScorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestSet:
    """Ground truth of one subject's test set, shared by every decoder scored on it."""

    images: torch.Tensor  # float32 [n, 3, H, W]
    nsd_ids: np.ndarray
    fingerprint: str


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"--device: expected cpu or cuda, found {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available on this machine; use --device cpu")


def check_writable(folder: Path) -> None:
    """Fail before any work if the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / ".write-check") as probe:
            probe.write_text("ok")
        (folder / ".write-check").unlink()
    except (OSError, HarnessError) as exc:
        raise ConfigError(f"--out: cannot write to folder {folder}: {getattr(exc, 'strerror', None) or exc}") from None


def run(config: RunConfig) -> list[Path]:
    """Evaluate every (decoder, subject) of `config`; return the results files written."""
    from leaderboards.render import render_leaderboard

    specs = [resolve(name) for name in config.decoders]
    for spec in specs:
        check_ablation(spec, config.ablation)
    check_device(config.device)
    if config.protocol != "auto":
        resolve_protocol(config.protocol, "nsd")  # a typo fails before any data is read
    check_writable(config.out_dir)
    if config.vd_model is not None:
        from eval.backbone.locate import locate_model

        locate_model(config.vd_model)  # a missing backbone fails now, before any data is prepared
    if config.braindiffuser_dir is not None and config.nsd_root is None:
        raise ConfigError("--braindiffuser-dir: needs --nsd-root (its design file names the rows), found none")
    source = resolve_source(config.nsd_root, config.cache_dir, config.synth_preset)
    print(f"dataset: {source.label}", flush=True)
    config, scorer = feature_scorer(config, source)
    print(f"protocol: {config.protocol}; weights: {scorer.note()}", flush=True)
    stimuli = Stimuli(source.root)
    written = []
    for subject in config.subjects:
        data = subject_data(config, source, subject)
        gt_u8 = stimuli.images(data.test_ids)
        test_set = TestSet(
            images=uint8_to_tensor(gt_u8),
            nsd_ids=np.asarray(data.test_ids),
            fingerprint=test_set_fingerprint(data.test_ids, gt_u8),
        )
        for spec in specs:
            written.append(evaluate_decoder(spec, config, source, stimuli, data, test_set, scorer))
    page = render_leaderboard(config.results_dir, config.out_dir)
    print(f"leaderboard: {page}", flush=True)
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
        cache=config.cache_dir,
        device=config.device,
    )
    scorer.load_all()
    return config, scorer


def subject_data(config: RunConfig, source: DataSource, subject: int) -> SubjectData:
    if config.braindiffuser_dir is None:
        return load_subject(source.root, subject, config.prepare, config.cache_dir)
    from eval.data.braindiffuser import import_braindiffuser

    return import_braindiffuser(config.braindiffuser_dir, subject, source.root, config.prepare)


def checkpoint_folder(cache_dir: Path | None, decoder: str, variant: str, data: SubjectData, seed: int) -> Path:
    """Where the checkpoint of `decoder` (`variant`: ablation or training variant) fitted on `data` lives."""
    return Cache.at(cache_dir).checkpoint(decoder, variant, data.subject, seed, data.fingerprint)


def fit_or_load(spec: DecoderSpec, decoder: Decoder, config: RunConfig, data: SubjectData, stimuli: Stimuli) -> str:
    """Fit on the training split, or restore the checkpoint fitted on exactly this data. Returns what was done."""
    if not isinstance(decoder, Trainable):
        return "nothing to fit"
    if not isinstance(decoder, Checkpointable):
        decoder.fit(data, stimuli)
        return "fitted"
    variant = getattr(decoder, "checkpoint_variant", None)
    ablation = variant(data) if callable(variant) else config.ablation or "full"
    folder = checkpoint_folder(config.cache_dir, spec.name, ablation, data, config.seed)
    if folder.is_dir() and not config.refit:
        decoder.load(folder, data, stimuli)
        return f"loaded checkpoint {folder}"
    decoder.fit(data, stimuli)
    if folder.is_dir():
        shutil.rmtree(folder)
    with atomic_folder(folder) as tmp:
        decoder.save(tmp)
    return f"fitted, saved {folder}"


def evaluate_decoder(
    spec: DecoderSpec,
    config: RunConfig,
    source: DataSource,
    stimuli: Stimuli,
    data: SubjectData,
    test_set: TestSet,
    scorer: FeatureScorer,
) -> Path:
    from eval.metrics.score import score_pixel_metrics, validate_images
    from eval.report import build_result, save_reconstructions
    from eval.results import result_filename, write_result
    from eval.visual import save_sample_grid

    torch.manual_seed(config.seed)
    context = BuildContext(
        ablation=config.ablation,
        device=config.device,
        seed=config.seed,
        subject=data.subject,
        options=dict(config.decoder_options),
        transfer_from=config.transfer_from,
        finetune_sessions=config.finetune_sessions,
        cache_dir=config.cache_dir,
        vd_model=config.vd_model,
    )
    decoder = spec.build(context)
    timing: dict[str, float] = {}
    start = time.perf_counter()
    log.info("%s: %s", spec.name, fit_or_load(spec, decoder, config, data, stimuli))
    timing["fit"] = time.perf_counter() - start

    start = time.perf_counter()
    recon = decoder.reconstruct(TestInputs(fmri=np.asarray(data.test_fmri), nsd_ids=test_set.nsd_ids))
    timing["reconstruct"] = time.perf_counter() - start
    validate_images(recon, f"reconstructions of decoder '{spec.name}'", expected_count=len(test_set.nsd_ids))

    stem = result_filename(spec.name, config.ablation, data.subject, config.protocol).removesuffix(".json")
    # Scored from the saved 8-bit images, so a re-score of the saved file reproduces these numbers exactly.
    recon_u8, recon_path = save_reconstructions(
        config.out_dir / "reconstructions" / f"{stem}.npz", recon, test_set.nsd_ids
    )
    recon = uint8_to_tensor(recon_u8)
    start = time.perf_counter()
    per_image = score_pixel_metrics(test_set.images, recon, protocol=config.protocol, device=config.device)
    timing["score_pixel"] = time.perf_counter() - start
    start = time.perf_counter()
    per_image.update(scorer.score(test_set.images, test_set.fingerprint, recon))
    timing["score_features"] = time.perf_counter() - start

    samples = config.out_dir / "samples" / f"{stem}.png"
    save_sample_grid(test_set.images, {spec.name: recon}, samples)
    artifacts = {"reconstructions": recon_path, "samples": samples}
    if isinstance(decoder, ArtifactWriter):
        artifacts |= decoder.write_artifacts(config.out_dir / "artifacts" / stem, data)
    result = build_result(
        decoder=decoder,
        config=config,
        source=source,
        data=data,
        test_set_fingerprint=test_set.fingerprint,
        nsd_ids=test_set.nsd_ids,
        per_image=per_image,
        weights=scorer.weights_info(),
        timing=timing,
        artifacts=artifacts,
        results_dir=config.results_dir,
    )
    path = config.results_dir / result_filename(spec.name, config.ablation, data.subject, config.protocol)
    write_result(path, result)
    summary = ", ".join(f"{block.display} {block.value:.4f}" for block in result.metrics.values())
    print(
        f"subj{data.subject:02d} {spec.name}{'/' + config.ablation if config.ablation else ''}: {summary}", flush=True
    )
    return path

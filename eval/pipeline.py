"""The one evaluation pipeline: fit or load -> reconstruct -> 8-bit images -> score -> write.

Every entry point calls these functions (`python -m eval.run`, `python -m havir.fit`, `python -m havir.ablations`,
HAVIR's transfer), so a checkpoint, a quantisation or a score means the same thing wherever it was made.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from eval.atomic import atomic_folder, atomic_path
from eval.cache import Cache, stable_hash
from eval.config import RunConfig
from eval.data.prepare import load_subject
from eval.data.source import DataSource
from eval.data.stimuli import Stimuli, test_set_fingerprint, uint8_to_tensor
from eval.data.subject import SubjectData
from eval.decoders import (
    ArtifactWriter,
    BuildContext,
    Checkpointable,
    Decoder,
    DecoderSpec,
    TestInputs,
    Trainable,
    Variant,
)
from eval.errors import ConfigError
from eval.identity import run_identity, variant_label
from eval.options import differences

if TYPE_CHECKING:
    from eval.metrics.feature_score import FeatureScorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestSet:
    """Ground truth of one subject's test set, shared by every decoder scored on it."""

    __test__ = False  # not a pytest test class, despite its name

    images: torch.Tensor  # float32 [n, 3, H, W]
    nsd_ids: np.ndarray
    fingerprint: str

    @classmethod
    def of(cls, stimuli: Stimuli, data: SubjectData) -> TestSet:
        gt_u8 = stimuli.images(data.test_ids)
        return cls(uint8_to_tensor(gt_u8), np.asarray(data.test_ids), test_set_fingerprint(data.test_ids, gt_u8))


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"--device: expected cpu or cuda, found {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available on this machine; use --device cpu")


def subject_data(config: RunConfig, source: DataSource, subject: int) -> SubjectData:
    """The subject's prepared data as `config` asks: read from NSD (or SynthNSD), or imported from brain-diffuser's
    files."""
    if config.braindiffuser_dir is None:
        return load_subject(source.root, subject, config.prepare, Cache.at(config.cache_dir))
    from eval.data.braindiffuser import import_braindiffuser

    return import_braindiffuser(config.braindiffuser_dir, subject, source.root, config.prepare)


def checkpoint_variant(decoder: Decoder, variant: Variant, data: SubjectData) -> str:
    """The checkpoint folder's name: the decoder's own rule, else the ablation and a hash of changed options."""
    own = getattr(decoder, "checkpoint_variant", None)
    if callable(own):
        return own(data)
    name = variant.ablation or "full"
    changed = differences(variant.options) if variant.options is not None else {}
    return f"{name}-{stable_hash(changed, 10)}" if changed else name


def content_fingerprint(decoder: Decoder) -> str | None:
    """The decoder's hash of the outside content it scores (e.g. a file of reconstructions), if it has one."""
    own = getattr(decoder, "content_fingerprint", None)
    return own() if callable(own) else None


def fit_or_load(
    name: str,
    decoder: Decoder,
    data: SubjectData,
    stimuli: Stimuli,
    cache: Cache,
    *,
    seed: int,
    variant: Variant | None = None,
    refit: bool = False,
    fit=None,
    writer: bool = True,
) -> str:
    """Fit on the training split, or restore the checkpoint fitted on exactly this data. Returns what was done.

    Args:
        fit: What fits the decoder (default `decoder.fit(data, stimuli)`; a launcher passes its own).
        writer: Whether this process writes the checkpoint (only the main one of several does).
    """
    if not isinstance(decoder, Trainable):
        return "nothing to fit"
    fit = fit or (lambda: decoder.fit(data, stimuli))
    if not isinstance(decoder, Checkpointable):
        fit()
        return "fitted"
    folder = cache.checkpoint(name, checkpoint_variant(decoder, variant or Variant(), data), data.subject, seed,
                              data.fingerprint)
    if folder.is_dir() and not refit:
        decoder.load(folder, data, stimuli)
        return f"loaded checkpoint {folder}"
    fit()
    if not writer:
        return "fitted"
    save_checkpoint(decoder, folder)
    return f"fitted, saved {folder}"


def save_checkpoint(decoder: Checkpointable, folder: Path) -> None:
    """Write the checkpoint folder in one rename (an older one is replaced; a concurrent writer's wins)."""
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    with atomic_folder(folder) as tmp:
        decoder.save(tmp)


def inputs_of(data: SubjectData, count: int | None = None) -> TestInputs:
    """The subject's test fMRI with NSD ids (the first `count` rows when given)."""
    rows = slice(None) if count is None else slice(0, count)
    return TestInputs(fmri=np.asarray(data.test_fmri[rows]), nsd_ids=np.asarray(data.test_ids[rows]))


def reconstruct(decoder: Decoder, inputs: TestInputs, name: str) -> torch.Tensor:
    """The decoder's images of `inputs`, checked, as float32 on the CPU."""
    from eval.metrics.score import validate_images

    recon = decoder.reconstruct(inputs).detach().float().cpu()
    validate_images(recon, f"reconstructions of decoder '{name}'", expected_count=len(inputs.nsd_ids))
    return recon


def quantise(images: torch.Tensor) -> np.ndarray:
    """8-bit images (n, H, W, 3), the form reconstructions are saved and scored in, so a saved file re-scores to
    the same numbers."""
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def save_reconstructions(path: Path, u8: np.ndarray, nsd_ids: np.ndarray) -> Path:
    """Write 8-bit images with their NSD ids in one rename."""
    with atomic_path(path) as tmp:
        np.savez(tmp, images=u8, nsd_ids=np.asarray(nsd_ids, dtype=np.int64))
    return path


def score(
    test_set: TestSet, recon: torch.Tensor, scorer: FeatureScorer, protocol: str, device: str
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per-image scores of all metrics, and the seconds each half took."""
    from eval.metrics.score import score_pixel_metrics

    start = time.perf_counter()
    per_image = score_pixel_metrics(test_set.images, recon, protocol=protocol, device=device)
    timing = {"score_pixel": time.perf_counter() - start}
    start = time.perf_counter()
    per_image.update(scorer.score(test_set.images, test_set.fingerprint, recon))
    timing["score_features"] = time.perf_counter() - start
    return per_image, timing


def evaluate(
    spec: DecoderSpec,
    variant: Variant,
    config: RunConfig,
    source: DataSource,
    stimuli: Stimuli,
    data: SubjectData,
    test_set: TestSet,
    scorer: FeatureScorer,
) -> Path:
    """One (decoder variant, subject): fit or load, reconstruct, score, write; returns the results file."""
    from eval.metrics.protocol import get_protocol
    from eval.report import build_result
    from eval.results import result_stem, write_result
    from eval.visual import save_sample_grid

    cache = Cache.at(config.cache_dir)
    protocol = get_protocol(config.protocol)
    torch.manual_seed(config.seed)
    decoder = spec.build(BuildContext(device=config.device, seed=config.seed, subject=data.subject, cache=cache),
                         variant)
    identity = run_identity(
        spec,
        variant,
        data,
        dataset=source.name,
        prepare=config.prepare,
        fmri_source=config.braindiffuser_dir,
        protocol=(protocol.name, protocol.version),
        weights_source=config.weights_source,
        seed=config.seed,
        content=content_fingerprint(decoder),
    )
    stem = result_stem(identity, config.tag)  # the tag was checked up front (runner.check_config)
    timing: dict[str, float] = {}
    start = time.perf_counter()
    done = fit_or_load(spec.name, decoder, data, stimuli, cache, seed=config.seed, variant=variant, refit=config.refit)
    log.info("%s: %s", spec.name, done)
    timing["fit"] = time.perf_counter() - start

    start = time.perf_counter()
    recon = reconstruct(decoder, inputs_of(data), spec.name)
    timing["reconstruct"] = time.perf_counter() - start
    recon_u8 = quantise(recon)
    recon_path = save_reconstructions(config.out_dir / "reconstructions" / f"{stem}.npz", recon_u8, test_set.nsd_ids)
    recon = uint8_to_tensor(recon_u8)  # scored as saved
    per_image, score_timing = score(test_set, recon, scorer, config.protocol, config.device)
    timing |= score_timing

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
        identity=identity,
        tag=config.tag,
        variant=variant_label(spec, variant, config.prepare, config.braindiffuser_dir, config.seed),
    )
    outcome = write_result(config.results_dir, result)
    for old in outcome.replaced:
        print(f"replaced {old}: same run identity ({identity.short_hash()})", flush=True)
    summary = ", ".join(f"{block.display} {block.value:.4f}" for block in result.metrics.values())
    label = config.tag or spec.name + (f"/{variant.ablation}" if variant.ablation else "")
    print(f"subj{data.subject:02d} {label}: {summary}", flush=True)
    return outcome.path

"""The six feature metrics of a protocol, for many decoders on one test set: extractors loaded once, the
ground truth's features computed once (and cached on disk), each decoder's reconstructions extracted once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from eval.cache import Cache
from eval.metrics.features import cached_features, extract
from eval.metrics.identification import correlation_distance, two_way_identification
from eval.metrics.protocol import MetricProtocol, get_protocol
from eval.metrics.score import validate_images
from eval.metrics.seeded import CalibrationSet, load_seeded
from eval.metrics.spec import get_metric
from eval.metrics.weights import LoadedExtractor, load_pretrained

if TYPE_CHECKING:
    from eval.results import WeightsInfo

log = logging.getLogger(__name__)

# Protocols whose numbers compare with published ones when the weights are the published ones.
PUBLISHED_PROTOCOLS = ("mindeye", "braindiffuser")


class FeatureScorer:
    """Scores AlexNet(2), AlexNet(5), InceptionV3, CLIP, EffNet-B and SwAV under one protocol and weight source.

    Args:
        protocol: Protocol name or object.
        source: "pretrained" (published weights from local files) or "seeded" (see `eval.metrics.seeded`).
        calibration: Makes the calibration images of the seeded source (called at most once).
        weights_dir: Extra folder searched first for weight files.
        seed: Seed of the seeded source.
        cache: The cache (default: `Cache.at()`).
        device: Where the networks run.
    """

    def __init__(
        self,
        protocol: str | MetricProtocol,
        source: str,
        *,
        calibration: Callable[[], CalibrationSet] | None = None,
        weights_dir: Path | None = None,
        seed: int = 0,
        cache: Cache | None = None,
        device: str = "cpu",
    ) -> None:
        if source not in ("pretrained", "seeded"):
            raise ValueError(f"FeatureScorer: source must be 'pretrained' or 'seeded', not {source!r}")
        self.protocol = get_protocol(protocol)
        self.source = source
        self._calibration_factory = calibration
        self._calibration: CalibrationSet | None = None
        self.weights_dir = weights_dir
        self.seed = seed
        self.cache = Cache.at(cache)
        self.device = device
        self._loaded: dict[str, LoadedExtractor] = {}
        self._gt: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._pending_writes: list[Future] = []

    def extractor(self, name: str) -> LoadedExtractor:
        """The loaded extractor `name` of the protocol (loaded on first use)."""
        if name not in self._loaded:
            spec = self.protocol.extractors[name]
            if self.source == "pretrained":
                self._loaded[name] = load_pretrained(spec, self.weights_dir)
            else:
                self._loaded[name] = load_seeded(
                    spec,
                    self.protocol,
                    self._calibration_set(),
                    seed=self.seed,
                    cache=self.cache,
                    device=self.device,
                )
        return self._loaded[name]

    def _calibration_set(self) -> CalibrationSet:
        if self._calibration is None:
            if self._calibration_factory is None:
                raise ValueError("FeatureScorer: the seeded source needs calibration images")
            self._calibration = self._calibration_factory()
        return self._calibration

    def load_all(self) -> None:
        """Load every extractor now, so missing weight files fail a run before any decoder works."""
        for name in self.protocol.extractors:
            self.extractor(name)

    def ground_truth(self, images: torch.Tensor, fingerprint: str, name: str) -> dict[str, np.ndarray]:
        key = (name, fingerprint)
        if key not in self._gt:
            self._gt[key] = cached_features(
                self.extractor(name),
                images,
                fingerprint,
                self.protocol,
                cache=self.cache,
                device=self.device,
                pending_writes=self._pending_writes,
            )
        return self._gt[key]

    def score(self, gt: torch.Tensor, gt_fingerprint: str, recon: torch.Tensor) -> dict[str, np.ndarray]:
        """Per-image scores of every feature metric, in the metric table's order.

        Args:
            gt: Ground truth, float32 [N, 3, H, W] in [0, 1].
            gt_fingerprint: Content hash of `gt` (the ground-truth feature cache key).
            recon: Reconstructions, float32 [N, 3, H', W'] in [0, 1], same order.

        Raises:
            InputError: Either set has the wrong count, shape or dtype, or values outside [0, 1] or NaN.
        """
        gt = validate_images(gt, "gt")
        recon = validate_images(recon, "recon", expected_count=gt.shape[0])
        by_extractor: dict[str, list] = {}
        for feature in self.protocol.features:
            by_extractor.setdefault(feature.extractor, []).append(feature)
        out: dict[str, np.ndarray] = {}
        for name, metrics in by_extractor.items():
            gt_features = self.ground_truth(gt, gt_fingerprint, name)
            recon_features = extract(self.extractor(name), recon, self.protocol, device=self.device, desc=name)
            for feature in metrics:
                g = torch.from_numpy(gt_features[feature.node])
                r = torch.from_numpy(recon_features[feature.node])
                if get_metric(feature.metric).kind == "identification":
                    out[feature.metric] = two_way_identification(g, r)
                else:
                    out[feature.metric] = correlation_distance(g, r)
            del recon_features
        self.wait_for_cache_writes()
        return out

    def wait_for_cache_writes(self) -> None:
        """Block until the ground-truth features computed so far are on disk (raises a failed write's error)."""
        while self._pending_writes:
            self._pending_writes.pop(0).result()

    @property
    def comparable_to_published(self) -> bool:
        return self.source == "pretrained" and self.protocol.name in PUBLISHED_PROTOCOLS

    def weights_info(self) -> WeightsInfo:
        """The weights block of a results file."""
        from eval.results import WeightsInfo

        return WeightsInfo(
            source=self.source,
            comparable_to_published=self.comparable_to_published,
            note=self.note(),
            extractors=self.provenance(),
        )

    def provenance(self) -> dict[str, Any]:
        """Per extractor: source, file and sha256, or the seeded method and calibration."""
        return {name: {"spec": loaded.spec.key(), **loaded.provenance} for name, loaded in self._loaded.items()}

    def note(self) -> str:
        """One readable line for results files and tables (what each extractor's weights are)."""
        if self.source == "pretrained":
            head = "published weights"
            if not self.comparable_to_published:
                head += f" under the reduced protocol {self.protocol.name}, NOT comparable to published numbers"
            files = [f"{n}: {x.spec.weights.filename} ({x.provenance['check']})" for n, x in self._loaded.items()]
            return f"{head}: " + "; ".join(files)
        methods: dict[str, list[str]] = {}
        for name, loaded in self._loaded.items():
            methods.setdefault(loaded.provenance["method"], []).append(name)
        described = "; ".join(f"{', '.join(names)}: {method}" for method, names in methods.items())
        return f"seeded weights, NOT comparable to published numbers. {described}"

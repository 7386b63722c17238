"""Named, versioned metric protocols: every preprocessing choice that changes a published number.

A result records the protocol's name and version; two results only compare when both match. Change a
protocol's behaviour only together with its version.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eval.errors import ConfigError
from eval.metrics.extractors import (
    BRAINDIFFUSER_EXTRACTORS,
    FEATURE_METRICS,
    MINDEYE_EXTRACTORS,
    MINDEYE_SYNTH_EXTRACTORS,
    ExtractorSpec,
    FeatureMetric,
)


@dataclass(frozen=True)
class SsimSpec:
    """Gaussian-weighted SSIM parameters (Wang et al. 2004, as scikit-image implements them).

    Attributes:
        sigma: Standard deviation of the Gaussian window.
        truncate: Window radius in sigmas; radius = int(truncate * sigma + 0.5), so 5 (an 11-tap window).
        k1: Luminance stabiliser constant.
        k2: Contrast stabiliser constant.
        data_range: Range of the input values.
    """

    sigma: float = 1.5
    truncate: float = 3.5
    k1: float = 0.01
    k2: float = 0.03
    data_range: float = 1.0

    @property
    def radius(self) -> int:
        # scipy.ndimage's rule, which scikit-image also uses to crop the map's borders.
        return int(self.truncate * self.sigma + 0.5)


@dataclass(frozen=True)
class MetricProtocol:
    """How every metric's inputs are prepared, and which networks the feature metrics read.

    Attributes:
        name: Protocol name recorded in results ("mindeye").
        version: Bumped whenever any field's effect on a number changes.
        description: One line for results files and tables.
        common_size: Both ground truth and reconstruction are first resized to this square size (None: not).
        metric_size: Then resized again to this square size for PixCorr and SSIM.
        interpolation: Resize filter of the pixel metrics: "bilinear" or "bicubic".
        antialias: Whether those resizes antialias (torchvision <= 0.16 did not, on tensors; PIL does).
        gray_weights: RGB to luminance weights (scikit-image `rgb2gray`).
        ssim: SSIM window and constants.
        ssim_mode: "2d" (scikit-image >= 0.20 on a gray image) or "columns" (scikit-image 0.17's
            `multichannel=True` on a gray image: 1-D SSIM down each column, columns averaged).
        extractors: The networks of the feature metrics, by name.
        features: Which extractor and node each feature metric reads.
        networks_from_common: Whether the networks read the common-size images (mindeye) or resize the
            images as given straight to their own sizes.
    """

    name: str
    version: str
    description: str = ""
    common_size: int | None = 256
    metric_size: int = 425
    interpolation: str = "bilinear"
    antialias: bool = False
    gray_weights: tuple[float, float, float] = (0.2125, 0.7154, 0.0721)
    ssim: SsimSpec = field(default_factory=SsimSpec)
    ssim_mode: str = "2d"
    extractors: Mapping[str, ExtractorSpec] = field(default_factory=lambda: MINDEYE_EXTRACTORS)
    features: tuple[FeatureMetric, ...] = FEATURE_METRICS
    networks_from_common: bool = True

    def __post_init__(self) -> None:
        if self.ssim_mode not in ("2d", "columns"):
            raise ValueError(f"protocol {self.name}: ssim_mode must be '2d' or 'columns'")
        missing = [f.extractor for f in self.features if f.extractor not in self.extractors]
        if missing:
            raise ValueError(f"protocol {self.name}: feature metrics name unknown extractors {missing}")

    def describe(self) -> dict[str, str]:
        """The block a results file records."""
        return {"name": self.name, "version": self.version}

    def network_preprocessing(self) -> dict[str, object]:
        """What of the protocol, beyond an extractor's own spec, changes the networks' inputs (for cache keys)."""
        return {
            "networks_from_common": self.networks_from_common,
            "common_size": self.common_size if self.networks_from_common else None,
            "antialias": self.antialias if self.networks_from_common else None,
        }


MINDEYE = MetricProtocol(
    name="mindeye",
    version="2",
    description="MindEye1/2 evaluation: 256 px bilinear without antialias; nets at 256/342/224/255/224",
)
BRAINDIFFUSER = MetricProtocol(
    name="braindiffuser",
    version="1",
    description="Brain-Diffuser evaluation: bicubic to 425 px, column-wise SSIM; every net at 224",
    common_size=None,
    interpolation="bicubic",
    antialias=True,
    ssim_mode="columns",
    extractors=BRAINDIFFUSER_EXTRACTORS,
)
MINDEYE_SYNTH = MetricProtocol(
    name="mindeye-synth",
    version="1",
    description="mindeye with the nets at reduced sizes (128/96/64/64/64), resized straight from the 64 px "
    "SynthNSD scenes (no 256 px step, which would only interpolate)",
    extractors=MINDEYE_SYNTH_EXTRACTORS,
    networks_from_common=False,
)

PROTOCOLS: MappingProxyType[str, MetricProtocol] = MappingProxyType(
    {p.name: p for p in (MINDEYE, BRAINDIFFUSER, MINDEYE_SYNTH)}
)
# What `--protocol auto` picks: the exact protocol on real NSD, its reduced variant on SynthNSD.
AUTO_PROTOCOL = MappingProxyType({"nsd": "mindeye", "synthnsd": "mindeye-synth"})


def get_protocol(protocol: str | MetricProtocol) -> MetricProtocol:
    """Resolve a protocol name (or pass a protocol through).

    Raises:
        ConfigError: The name is unknown; the message lists the close and the available names.
    """
    if isinstance(protocol, MetricProtocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        close = difflib.get_close_matches(str(protocol), list(PROTOCOLS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown metric protocol '{protocol}'.{hint} Available: {', '.join(PROTOCOLS)}") from None


def resolve_protocol(requested: str, dataset: str) -> MetricProtocol:
    """The protocol of a run: `requested`, or for "auto" the exact one on NSD and the reduced one on SynthNSD.

    Raises:
        ConfigError: The name is unknown.
    """
    if requested == "auto":
        return PROTOCOLS[AUTO_PROTOCOL.get(dataset, "mindeye")]
    return get_protocol(requested)

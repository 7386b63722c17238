"""Named, versioned metric protocols: every preprocessing choice that changes a published number.

A result records the protocol's name and version; two results only compare when both match. Change a
protocol's behaviour only together with its version.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType

from eval.errors import ConfigError


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
class PixelProtocol:
    """How PixCorr and SSIM inputs are prepared.

    Attributes:
        name: Protocol name recorded in results ("mindeye").
        version: Bumped whenever any field's effect on a number changes.
        common_size: Both ground truth and reconstruction are first resized to this square size.
        metric_size: Then resized again to this square size for PixCorr and SSIM.
        antialias: Whether the bilinear resizes antialias (torchvision <= 0.16 did not, on tensors).
        gray_weights: RGB to luminance weights (scikit-image `rgb2gray`).
        ssim: SSIM window and constants.
    """

    name: str
    version: str
    common_size: int = 256
    metric_size: int = 425
    antialias: bool = False
    gray_weights: tuple[float, float, float] = (0.2125, 0.7154, 0.0721)
    ssim: SsimSpec = field(default_factory=SsimSpec)

    def describe(self) -> dict[str, str]:
        """The block a results file records."""
        return {"name": self.name, "version": self.version}


MINDEYE = PixelProtocol(name="mindeye", version="1")

PROTOCOLS: MappingProxyType[str, PixelProtocol] = MappingProxyType({p.name: p for p in (MINDEYE,)})


def get_protocol(protocol: str | PixelProtocol) -> PixelProtocol:
    """Resolve a protocol name (or pass a protocol through).

    Raises:
        ConfigError: The name is unknown; the message lists the close and the available names.
    """
    if isinstance(protocol, PixelProtocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        close = difflib.get_close_matches(str(protocol), list(PROTOCOLS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown metric protocol '{protocol}'.{hint} Available: {', '.join(PROTOCOLS)}") from None

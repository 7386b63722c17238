"""The eight metrics the field reports: the single source of their names, display names and directions.

Every other module (scoring, results files, leaderboards) reads display name and direction from `METRICS`,
so a metric cannot be shown as "higher is better" in one place and "lower" in another.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from eval.errors import ConfigError

Direction = Literal["higher", "lower"]
MetricKind = Literal["pixel", "identification", "distance"]


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is called and how to read it.

    Attributes:
        name: Key used in results files and code ("pixcorr").
        display: Column header used in papers ("PixCorr").
        direction: "higher" or "lower": which way is better.
        kind: "pixel" (image statistics), "identification" (two-way identification, shown as a percentage)
            or "distance" (correlation distance between features).
        chance: Score of an uninformative decoder where one is defined (0.5 for two-way identification).
    """

    name: str
    display: str
    direction: Direction
    kind: MetricKind
    chance: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"metric {self.name}: direction must be 'higher' or 'lower', not {self.direction!r}")
        if self.kind not in ("pixel", "identification", "distance"):
            raise ValueError(f"metric {self.name}: unknown kind {self.kind!r}")

    @property
    def arrow(self) -> str:
        """An arrow pointing the better way, for table headers."""
        return "\u2191" if self.direction == "higher" else "\u2193"


# Order is the column order of every table in the field (MindEye1 Table 1 onwards).
# PixCorr has no chance level: unrelated natural images correlate positively on average.
METRICS: MappingProxyType[str, MetricSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            MetricSpec("pixcorr", "PixCorr", "higher", "pixel"),
            MetricSpec("ssim", "SSIM", "higher", "pixel"),
            MetricSpec("alexnet2", "AlexNet(2)", "higher", "identification", chance=0.5),
            MetricSpec("alexnet5", "AlexNet(5)", "higher", "identification", chance=0.5),
            MetricSpec("inception", "InceptionV3", "higher", "identification", chance=0.5),
            MetricSpec("clip", "CLIP", "higher", "identification", chance=0.5),
            MetricSpec("effnet", "EffNet-B", "lower", "distance"),
            MetricSpec("swav", "SwAV", "lower", "distance"),
        )
    }
)


def get_metric(name: str) -> MetricSpec:
    """The spec of metric `name`.

    Raises:
        ConfigError: `name` is not in `METRICS`; the message suggests the closest names.
    """
    try:
        return METRICS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(METRICS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(f"unknown metric '{name}'.{hint} Available: {', '.join(METRICS)}") from None

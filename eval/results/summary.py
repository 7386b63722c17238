"""Per-image scores to the metrics block of a results file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eval.metrics.spec import get_metric
from eval.results.schema import MetricSummary
from eval.stats import identification_p_value, summarise


def summarise_metrics(per_image: Mapping[str, Any], n_boot: int = 2000, seed: int = 0) -> dict[str, MetricSummary]:
    """The metrics block from per-image scores: mean, bootstrap CI, n, with direction and display from METRICS.

    Raises:
        ConfigError: A metric name is not in METRICS.
    """
    out = {}
    for name, values in per_image.items():
        spec = get_metric(name)
        stats = summarise(values, n_boot=n_boot, seed=seed)
        out[name] = MetricSummary(
            value=stats["value"],
            ci95=tuple(stats["ci95"]),
            n=stats["n"],
            direction=spec.direction,
            display=spec.display,
            p_value=identification_p_value(values) if spec.kind == "identification" else None,
        )
    return out

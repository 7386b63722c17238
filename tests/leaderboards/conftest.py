"""Synthetic results files, written with the real writer, for leaderboard tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from eval.metrics.spec import METRICS
from eval.results import (
    DatasetInfo,
    DecoderInfo,
    HarnessInfo,
    MetricSummary,
    PerImage,
    ProtocolInfo,
    RunIdentity,
    RunResult,
    WeightsInfo,
    summarise_metrics,
    write_result,
)


def make_result(
    decoder: str = "ridge",
    subject: int = 1,
    metrics: dict[str, float] | None = None,
    *,
    ablation: str | None = None,
    kind: str = "baseline",
    protocol: tuple[str, str] = ("mindeye", "1"),
    weights: str = "pretrained",
    test_set: str = "t" * 64,
    artifacts: dict[str, str] | None = None,
    description: str = "a decoder",
    dataset: str = "nsd",
    variant: Mapping[str, Any] | None = None,
    tag: str | None = None,
    seed: int = 0,
    per_image: Mapping[str, Sequence[float]] | None = None,
    nsd_ids: Sequence[int] | None = None,
) -> RunResult:
    """A result whose identity's options are {"strength": 0.75} updated by `variant`.

    With `per_image` ({metric: scores}, aligned with `nsd_ids`, default 0, 1, ...), the metrics block is
    summarised from those scores (mean, bootstrap interval) and `metrics` is ignored.
    """
    metrics = {"pixcorr": 0.3, "ssim": 0.4} if metrics is None else metrics
    if per_image is not None:
        nsd_ids = list(range(len(next(iter(per_image.values()))))) if nsd_ids is None else list(nsd_ids)
        summaries = summarise_metrics(per_image, n_boot=200)
    else:
        summaries = {
            name: MetricSummary(value, (value - 0.01, value + 0.01), 10, METRICS[name].direction, METRICS[name].display)
            for name, value in metrics.items()
        }
    identity = RunIdentity(
        decoder=decoder,
        ablation=ablation,
        options={"strength": 0.75, **(variant or {})},
        backbone=None,
        transfer=None,
        data={"name": dataset, "fmri_source": None},
        subject=subject,
        protocol=protocol[0],
        protocol_version=protocol[1],
        weights_source=weights,
        seed=seed,
        data_fingerprint=f"f{subject}",
    )
    return RunResult(
        created_utc="2025-01-01T00:00:00+00:00",
        harness=HarnessInfo(version="0.1.0", git_commit=None, packages={}),
        identity=identity,
        tag=tag,
        variant=variant or {},
        decoder=DecoderInfo(name=decoder, ablation=ablation, description=description, flags={}, kind=kind),
        subject=subject,
        dataset=DatasetInfo(
            name=dataset,
            label=f"{dataset} at /nsd",
            root="/nsd",
            fingerprint=f"f{subject}",
            test_set_fingerprint=test_set,
            n_test=10,
            sessions=None,
            normalisation=None,
            voxel_recipe={},
        ),
        protocol=ProtocolInfo(*protocol),
        weights=WeightsInfo(source=weights, comparable_to_published=weights in ("pretrained", "none")),
        metrics=summaries,
        per_image=None if per_image is None else PerImage(nsd_ids=tuple(nsd_ids), scores=per_image),
        artifacts=artifacts or {},
    )


@pytest.fixture()
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(**make_result kwargs) -> path of a results file under tmp_path/results/<weight source>."""

    def _write(**kwargs) -> Path:
        result = make_result(**kwargs)
        return write_result(tmp_path / "results" / result.weights.source, result).path

    return _write

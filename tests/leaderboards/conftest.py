"""Synthetic results files, written with the real writer, for leaderboard tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
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


def write_stimuli_root(root: Path, n: int = 12, size: int = 32, captions: Mapping[int, str] | None = None) -> Path:
    """A minimal NSD root for the stimuli reader: `n` images, a stim-info table and one COCO caption each.

    Image k is a flat colour, so its thumbnail is easy to tell; `captions` replaces the caption of chosen ids.
    """
    import h5py
    import numpy as np
    import pandas as pd

    from eval.data import layout

    images = np.zeros((n, size, size, 3), dtype=np.uint8)
    images[...] = (np.arange(n, dtype=np.uint8)[:, None, None, None] * 20) % 250
    layout.stimuli(root).parent.mkdir(parents=True)
    with h5py.File(layout.stimuli(root), "w") as handle:
        handle["imgBrick"] = images
    layout.stim_info(root).parent.mkdir(parents=True)
    pd.DataFrame({"nsdId": range(n), "cocoId": range(1000, 1000 + n), "cocoSplit": "val2017"}).to_csv(
        layout.stim_info(root)
    )
    text = {k: f"image number {k} on a plain background" for k in range(n)} | dict(captions or {})
    path = layout.coco_captions(root, "val2017")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"annotations": [{"image_id": 1000 + k, "caption": text[k]} for k in range(n)]}))
    return root


def with_images(result: RunResult, folder: Path, root: Path, n: int = 12, seed: int = 0) -> RunResult:
    """`result` with per-image scores of NSD ids 0..n-1, its reconstructions written under `folder`, and `root`
    as its dataset root."""
    import numpy as np

    from eval.atomic import atomic_path

    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64)
    stem = f"{result.decoder.name}-{result.identity.short_hash()}"
    with atomic_path(folder / "reconstructions" / f"{stem}.npz") as tmp:
        np.savez(tmp, images=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), nsd_ids=ids)
    scores = {name: tuple(rng.random(n)) for name in result.metrics}
    return replace(
        result,
        dataset=replace(result.dataset, root=str(root)),
        per_image=PerImage(tuple(int(i) for i in ids), scores),
        artifacts={**result.artifacts, "reconstructions": f"reconstructions/{stem}.npz"},
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A browser test that fails keeps a screenshot of its page; the report names the file."""
    outcome = yield
    report = outcome.get_result()
    browsed = getattr(item, "funcargs", {}).get("browsed")
    if report.when == "call" and report.failed and browsed is not None:
        path = browsed.shots / "failure.png"
        try:
            browsed.page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot of the failed page", str(path)))
        except Exception as exc:  # a crashed browser must not hide the test's own failure
            report.sections.append(("screenshot of the failed page", f"none: {exc}"))

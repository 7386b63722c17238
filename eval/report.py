"""One decoder's scores, with everything they depend on, as a results record (`RunResult`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from eval.config import RunConfig
from eval.data.source import DataSource
from eval.data.subject import SubjectData
from eval.decoders import Decoder
from eval.metrics.protocol import get_protocol
from eval.results import (
    DatasetInfo,
    DecoderInfo,
    PerImage,
    ProtocolInfo,
    RunIdentity,
    RunResult,
    WeightsInfo,
    harness_info,
    summarise_metrics,
    utc_now,
)


def build_result(
    *,
    decoder: Decoder,
    config: RunConfig,
    source: DataSource,
    data: SubjectData,
    test_set_fingerprint: str,
    nsd_ids: np.ndarray,
    per_image: Mapping[str, np.ndarray],
    weights: WeightsInfo,
    timing: Mapping[str, float],
    artifacts: Mapping[str, Path],
    results_dir: Path,
    identity: RunIdentity,
    tag: str | None,
    variant: Mapping[str, Any],
) -> RunResult:
    """The results file's content for one decoder on one subject; artifacts are stored relative to `results_dir`.

    Args:
        identity: Every choice that changes a number of this run (it names the file).
        tag: The user's name for the variant, or None.
        variant: What differs from the decoder's default options; empty for the default variant.
    """
    protocol = get_protocol(config.protocol)
    label = source.label
    if config.braindiffuser_dir is not None:
        label += f" (fMRI from brain-diffuser files in {config.braindiffuser_dir})"
    meta = decoder.meta
    return RunResult(
        created_utc=utc_now(),
        harness=harness_info(),
        identity=identity,
        tag=tag,
        variant=dict(variant),
        decoder=DecoderInfo(
            name=meta.name,
            ablation=identity.ablation,
            description=meta.description,
            flags=dict(meta.flags),
            kind=meta.kind,
        ),
        subject=data.subject,
        dataset=DatasetInfo(
            name=source.name,
            label=label,
            root=str(source.root),
            fingerprint=data.fingerprint,
            test_set_fingerprint=test_set_fingerprint,
            n_test=int(len(nsd_ids)),
            sessions=data.options["sessions"],
            normalisation=data.options["normalisation"],
            voxel_recipe=data.options["recipe"],
        ),
        protocol=ProtocolInfo(name=protocol.name, version=protocol.version),
        weights=weights,
        metrics=summarise_metrics(per_image, seed=config.seed),
        per_image=PerImage(nsd_ids=tuple(int(i) for i in nsd_ids), scores={k: tuple(v) for k, v in per_image.items()}),
        timing_s=dict(timing),
        artifacts={name: os.path.relpath(path, results_dir) for name, path in artifacts.items()},
    )

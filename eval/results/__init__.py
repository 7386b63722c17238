"""Results files: one versioned JSON per run identity.

`schema` declares the file as dataclasses (validation is derived from them by `fromjson`), `io` names, writes
and reads files, `summary` turns per-image scores into the metrics block, and `provenance` records where a
result came from.
"""

from __future__ import annotations

from eval.results.io import WriteOutcome, check_tag, load_result, result_stem, write_result
from eval.results.provenance import DEFAULT_PACKAGES, git_commit, harness_info, utc_now
from eval.results.schema import (
    DECODER_KINDS,
    SCHEMA_VERSION,
    WEIGHT_SOURCES,
    DatasetInfo,
    DecoderInfo,
    HarnessInfo,
    MetricSummary,
    PerImage,
    ProtocolInfo,
    RunIdentity,
    RunResult,
    WeightsInfo,
)
from eval.results.summary import summarise_metrics

__all__ = [
    "DECODER_KINDS",
    "DEFAULT_PACKAGES",
    "SCHEMA_VERSION",
    "WEIGHT_SOURCES",
    "DatasetInfo",
    "DecoderInfo",
    "HarnessInfo",
    "MetricSummary",
    "PerImage",
    "ProtocolInfo",
    "RunIdentity",
    "RunResult",
    "WeightsInfo",
    "WriteOutcome",
    "check_tag",
    "git_commit",
    "harness_info",
    "load_result",
    "result_stem",
    "summarise_metrics",
    "utc_now",
    "write_result",
]

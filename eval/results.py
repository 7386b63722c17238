"""The results file: one versioned JSON per (decoder, ablation, subject, protocol).

Every number a table shows carries what it depends on: protocol name and version, test-set fingerprint,
weight provenance, package versions and git commit. `load_result` refuses a file it cannot read completely;
`write_result` never leaves half a file. Artifact paths are relative to the folder holding the results file.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from eval.atomic import write_json_atomic
from eval.errors import ConfigError, DataError, InputError
from eval.metrics.spec import METRICS, get_metric
from eval.stats import identification_p_value, summarise

SCHEMA_VERSION = 1
DECODER_KINDS = ("reference", "baseline", "method")
WEIGHT_SOURCES = ("none", "seeded", "pretrained")
DEFAULT_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-image",
    "diffusers",
    "transformers",
    "open_clip_torch",
    "timm",
)
_NAME_PART = re.compile(r"[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*")


def _plain(value: Any) -> Any:
    """JSON-shaped copy (tuples to lists, numpy scalars to Python), so a round trip compares equal."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class HarnessInfo:
    name: str = "havir-bench"
    version: str = "unknown"
    git_commit: str | None = None
    packages: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "packages", _plain(self.packages))


@dataclass(frozen=True)
class DecoderInfo:
    name: str
    ablation: str | None
    description: str
    flags: Mapping[str, bool | str | int | float]  # test-time choices that change numbers (blending, best-of-n)
    kind: str

    def __post_init__(self) -> None:
        _check(
            self.kind in DECODER_KINDS, f"decoder.kind: expected one of {', '.join(DECODER_KINDS)}, found {self.kind!r}"
        )
        object.__setattr__(self, "flags", _plain(self.flags))


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    label: str
    root: str
    fingerprint: str
    test_set_fingerprint: str
    n_test: int
    sessions: Any
    normalisation: Any
    voxel_recipe: Mapping[str, Any]

    def __post_init__(self) -> None:
        for name in ("sessions", "normalisation", "voxel_recipe"):
            object.__setattr__(self, name, _plain(getattr(self, name)))


@dataclass(frozen=True)
class ProtocolInfo:
    name: str
    version: str


@dataclass(frozen=True)
class WeightsInfo:
    """Where the feature metrics' network weights came from.

    `extractors` holds, per extractor, its spec and provenance: file and sha256 for published weights, the
    seed and calibration for the seeded source.
    """

    source: str
    comparable_to_published: bool
    note: str = ""
    extractors: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(
            self.source in WEIGHT_SOURCES,
            f"weights.source: expected one of {', '.join(WEIGHT_SOURCES)}, found {self.source!r}",
        )
        object.__setattr__(self, "extractors", _plain(self.extractors))


@dataclass(frozen=True)
class MetricSummary:
    """One metric's mean over images; `ci95` and `n` are None for numbers copied from a paper.

    `p_value`: for two-way identification, the binomial p-value against chance (`eval.stats`).
    """

    value: float
    ci95: tuple[float, float] | None
    n: int | None
    direction: str
    display: str
    p_value: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        if self.ci95 is not None:
            _check(len(self.ci95) == 2, f"ci95: expected [low, high], found {self.ci95!r}")
            object.__setattr__(self, "ci95", (float(self.ci95[0]), float(self.ci95[1])))
        _check(self.direction in ("higher", "lower"), f"direction: expected higher or lower, found {self.direction!r}")


@dataclass(frozen=True)
class PerImage:
    """Per-image scores aligned with `nsd_ids` (NSD 73k ids, the order peers disagree on)."""

    nsd_ids: tuple[int, ...]
    scores: Mapping[str, tuple[float, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nsd_ids", tuple(int(i) for i in self.nsd_ids))
        scores = {str(k): tuple(float(v) for v in values) for k, values in self.scores.items()}
        for name, values in scores.items():
            _check(
                len(values) == len(self.nsd_ids),
                f"per_image.{name}: expected {len(self.nsd_ids)} values (one per nsd_id), found {len(values)}",
            )
        object.__setattr__(self, "scores", scores)


@dataclass(frozen=True)
class RunResult:
    """Everything one results file holds (see the module docstring for the JSON layout)."""

    created_utc: str
    harness: HarnessInfo
    decoder: DecoderInfo
    subject: int
    dataset: DatasetInfo
    protocol: ProtocolInfo
    weights: WeightsInfo
    metrics: Mapping[str, MetricSummary]
    per_image: PerImage | None = None
    timing_s: Mapping[str, float] = field(default_factory=dict)
    artifacts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "metrics",
            {
                name: MetricSummary(**block) if isinstance(block, Mapping) else block
                for name, block in self.metrics.items()
            },
        )
        for name, block in self.metrics.items():
            spec = METRICS.get(name)
            if spec is not None:
                _check(
                    block.direction == spec.direction,
                    f"metrics.{name}.direction: expected {spec.direction!r}, found {block.direction!r}",
                )
        object.__setattr__(self, "timing_s", {str(k): float(v) for k, v in self.timing_s.items()})
        object.__setattr__(self, "artifacts", {str(k): str(v) for k, v in self.artifacts.items()})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with schema_version first."""
        out = asdict(self)
        if self.per_image is not None:
            out["per_image"] = {"nsd_ids": self.per_image.nsd_ids, **self.per_image.scores}
        return {"schema_version": SCHEMA_VERSION, **_plain(out)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> RunResult:
        """Validate and build from a parsed JSON object.

        Raises:
            DataError: Naming `source` and the first bad field.
        """
        try:
            return _build(data)
        except (KeyError, TypeError, ValueError) as exc:
            message = exc.args[0] if exc.args else repr(exc)
            raise DataError(f"results file {source}: {message}") from None


# JSON types per field; a trailing "?" allows null or absence.
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "num": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
    "any": (str, int, float, list, dict),
}
_SECTIONS = {
    "harness": {"name": "str", "version": "str", "git_commit": "str?", "packages": "dict"},
    "decoder": {"name": "str", "ablation": "str?", "description": "str", "kind": "str", "flags": "dict"},
    "dataset": {
        "name": "str",
        "label": "str",
        "root": "str",
        "fingerprint": "str",
        "test_set_fingerprint": "str",
        "n_test": "int",
        "sessions": "any?",
        "normalisation": "any?",
        "voxel_recipe": "dict",
    },
    "protocol": {"name": "str", "version": "str"},
    "weights": {"source": "str", "comparable_to_published": "bool", "note": "str", "extractors": "dict?"},
}
_METRIC_FIELDS = {
    "value": "num",
    "ci95": "list?",
    "n": "int?",
    "direction": "str",
    "display": "str",
    "p_value": "num?",
}


def _get(obj: Any, key: str, where: str, kind: str) -> Any:
    path = f"{where}.{key}" if where else key
    if not isinstance(obj, Mapping):
        raise TypeError(f"field '{where}': expected an object, found {type(obj).__name__}")
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if obj.get(key) is None:
        if optional:
            return None
        raise KeyError(f"missing field '{path}'")
    value = obj[key]
    if not isinstance(value, _TYPES[kind]) or (isinstance(value, bool) and kind in ("int", "num")):
        raise TypeError(f"field '{path}': expected {kind}, found {type(value).__name__}")
    return value


def _fields(obj: Any, where: str, spec: Mapping[str, str]) -> dict[str, Any]:
    return {name: _get(obj, name, where, kind) for name, kind in spec.items()}


def _build(data: Any) -> RunResult:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a JSON object, found {type(data).__name__}")
    if "schema_version" not in data:
        raise KeyError("missing field 'schema_version' (not a havir-bench results file?)")
    if data["schema_version"] != SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {data['schema_version']!r} is not supported (this harness reads {SCHEMA_VERSION})"
        )
    bad = _non_finite(data)
    if bad:
        raise ValueError(f"field '{bad}' is NaN or infinite")
    sections = {name: _fields(_get(data, name, "", "dict"), name, spec) for name, spec in _SECTIONS.items()}
    metrics = {
        name: MetricSummary(**_fields(block, f"metrics.{name}", _METRIC_FIELDS))
        for name, block in _get(data, "metrics", "", "dict").items()
    }
    per_image = _get(data, "per_image", "", "dict?")
    if per_image is not None:
        per_image = PerImage(
            nsd_ids=_get(per_image, "nsd_ids", "per_image", "list"),
            scores={k: _get(per_image, k, "per_image", "list") for k in per_image if k != "nsd_ids"},
        )
    return RunResult(
        created_utc=_get(data, "created_utc", "", "str"),
        harness=HarnessInfo(**sections["harness"]),
        decoder=DecoderInfo(**sections["decoder"]),
        subject=_get(data, "subject", "", "int"),
        dataset=DatasetInfo(**sections["dataset"]),
        protocol=ProtocolInfo(**sections["protocol"]),
        weights=WeightsInfo(**{k: v for k, v in sections["weights"].items() if v is not None}),
        metrics=metrics,
        per_image=per_image,
        timing_s=_get(data, "timing_s", "", "dict"),
        artifacts=_get(data, "artifacts", "", "dict"),
    )


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


def result_filename(decoder: str, ablation: str | None, subject: int, protocol: str) -> str:
    """'nearest_neighbour__full__subj01__mindeye.json' ('full' when there is no ablation)."""
    parts = {"decoder": decoder, "ablation": ablation or "full", "protocol": protocol}
    for what, part in parts.items():
        if not _NAME_PART.fullmatch(str(part)):  # no "__" either: it separates the parts
            raise ConfigError(
                f"{what} name {part!r} cannot be part of a file name: use letters, digits and "
                "single '-', '_' or '.' between them"
            )
    return f"{parts['decoder']}__{parts['ablation']}__subj{int(subject):02d}__{parts['protocol']}.json"


def _non_finite(obj: Any, path: str = "") -> str | None:
    if isinstance(obj, float) and not math.isfinite(obj):
        return path or "value"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found = _non_finite(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def write_result(path: str | Path, result: RunResult | Mapping[str, Any]) -> Path:
    """Write `result` atomically; a mapping is validated first. The old file survives any failure.

    Raises:
        InputError: A value is NaN or infinite (JSON has neither); names the field.
        DataError: A mapping does not follow the schema.
    """
    if not isinstance(result, RunResult):
        result = RunResult.from_dict(result, source=str(path))
    obj = result.to_dict()
    bad = _non_finite(obj)
    if bad:
        raise InputError(f"cannot write results file {path}: field '{bad}' is NaN or infinite")
    return write_json_atomic(path, obj)


def load_result(path: str | Path) -> RunResult:
    """Read and validate one results file.

    Raises:
        DataError: The file is unreadable, not JSON, of another schema version, or misses a field; names it.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"results file {path}: cannot read it: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"results file {path}: not valid JSON: {exc}") from None
    return RunResult.from_dict(data, source=str(path))


def utc_now() -> str:
    """Now, ISO-8601 in UTC to the second ('2025-01-31T12:00:00+00:00')."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def harness_info(packages: tuple[str, ...] = DEFAULT_PACKAGES) -> HarnessInfo:
    """This harness's version, git commit (None outside a checkout) and the installed versions of `packages`."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        version = metadata.version("havir-bench")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return HarnessInfo(version=version, git_commit=_git_commit(), packages=versions)


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None

"""The results-file schema: one versioned JSON object per run identity, declared once, as dataclasses.

Every number a table shows carries what it depends on: the run identity (every choice that changes a number,
hashed), protocol name and version, test-set fingerprint, weight provenance, package versions and git commit.
A parsed file is checked against these dataclasses' type hints (`eval.results.fromjson`); their own checks
(`__post_init__`) add what a type cannot say. The JSON object is `RunResult.to_dict()`: `schema_version`
first, then the fields in the order declared here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from eval.errors import DataError, OlderSchemaError
from eval.metrics.spec import METRICS
from eval.results.fromjson import FieldError, from_json, plain

SCHEMA_VERSION = 2
DECODER_KINDS = ("reference", "baseline", "method")
WEIGHT_SOURCES = ("none", "seeded", "pretrained")


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FieldError(name, f"expected one of {', '.join(allowed)}, found {value!r}")


@dataclass(frozen=True)
class HarnessInfo:
    name: str = "havir-bench"
    version: str = "unknown"
    git_commit: str | None = None
    packages: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "packages", plain(self.packages))


@dataclass(frozen=True)
class RunIdentity:
    """Every choice that changes a number of a run; two runs share a results file only if all of them match.

    Values are made JSON-plain on construction, so an identity read back from a file compares equal.

    Attributes:
        options: The decoder's resolved options, every declared one with its value (defaults included).
        backbone: Generation backbone of decoders that use one ("minivd", a folder, a hub id), else None.
        transfer: {"source": subject, "sessions": n} for a transferred decoder, else None.
        data: Dataset name, prepare options (sessions, normalisation, betas format, recipe) and fmri_source
            (None, or the brain-diffuser folder read instead of the NSD betas).
    """

    decoder: str
    ablation: str | None
    options: Mapping[str, Any]
    backbone: str | None
    transfer: Mapping[str, int] | None
    data: Mapping[str, Any]
    subject: int
    protocol: str
    protocol_version: str
    weights_source: str
    seed: int
    data_fingerprint: str

    def __post_init__(self) -> None:
        for name in ("options", "transfer", "data"):
            value = plain(getattr(self, name))
            try:  # refused now, not when key() is first asked for
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise FieldError(name, f"expected JSON values only (finite numbers), found: {exc}") from None
            object.__setattr__(self, name, value)
        _one_of("weights_source", self.weights_source, WEIGHT_SOURCES)

    def canonical(self, leave_out: tuple[str, ...] = ()) -> str:
        """Canonical JSON (sorted keys, no spaces) of the identity without the fields in `leave_out`."""
        obj = {k: v for k, v in asdict(self).items() if k not in leave_out}
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def key(self) -> str:
        """sha256 (hex) of the canonical JSON of the whole identity."""
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()

    def short_hash(self) -> str:
        """The first 10 hex digits of `key()`: the part of a results file's name that tells variants apart."""
        return self.key()[:10]


@dataclass(frozen=True)
class DecoderInfo:
    name: str
    ablation: str | None
    description: str
    flags: Mapping[str, bool | str | int | float]  # test-time choices that change numbers (blending, best-of-n)
    kind: str

    def __post_init__(self) -> None:
        _one_of("kind", self.kind, DECODER_KINDS)
        object.__setattr__(self, "flags", plain(self.flags))


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
            object.__setattr__(self, name, plain(getattr(self, name)))


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
        _one_of("source", self.source, WEIGHT_SOURCES)
        object.__setattr__(self, "extractors", plain(self.extractors))


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
            if len(self.ci95) != 2:
                raise FieldError("ci95", f"expected [low, high], found {self.ci95!r}")
            object.__setattr__(self, "ci95", (float(self.ci95[0]), float(self.ci95[1])))
        _one_of("direction", self.direction, ("higher", "lower"))


@dataclass(frozen=True)
class PerImage:
    """Per-image scores aligned with `nsd_ids` (NSD 73k ids, the order peers disagree on)."""

    nsd_ids: tuple[int, ...]
    scores: Mapping[str, tuple[float, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nsd_ids", tuple(int(i) for i in self.nsd_ids))
        scores = {str(k): tuple(float(v) for v in values) for k, values in self.scores.items()}
        for name, values in scores.items():
            if len(values) != len(self.nsd_ids):
                raise FieldError(
                    f"scores.{name}", f"expected {len(self.nsd_ids)} values (one per nsd_id), found {len(values)}"
                )
        object.__setattr__(self, "scores", scores)


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """Everything one results file holds.

    Attributes:
        identity: What makes this run's numbers what they are; names the file (`eval.results.io`).
        tag: The user's name for the variant (--tag), shown instead of the decoder's name; None if not given.
        variant: What differs from the decoder's defaults ({"strength": 0.5}); empty for the default variant.
    """

    created_utc: str
    harness: HarnessInfo
    identity: RunIdentity
    tag: str | None = None
    variant: Mapping[str, Any] = field(default_factory=dict)
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
        object.__setattr__(self, "variant", plain(self.variant))
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
            if spec is not None and block.direction != spec.direction:
                raise FieldError(f"metrics.{name}.direction", f"expected {spec.direction!r}, found {block.direction!r}")
        object.__setattr__(self, "timing_s", {str(k): float(v) for k, v in self.timing_s.items()})
        object.__setattr__(self, "artifacts", {str(k): str(v) for k, v in self.artifacts.items()})
        self._check_identity()

    def _check_identity(self) -> None:
        """The identity repeats four facts stated elsewhere in the file; they must agree."""
        stated = {
            "subject": self.subject,
            "protocol": self.protocol.name,
            "protocol_version": self.protocol.version,
            "weights_source": self.weights.source,
        }
        for name, expected in stated.items():
            found = getattr(self.identity, name)
            if found != expected:
                raise FieldError(f"identity.{name}", f"expected {expected!r} (as the result states), found {found!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, with schema_version first."""
        return {"schema_version": SCHEMA_VERSION, **plain(asdict(self))}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> RunResult:
        """Validate and build from a parsed JSON object.

        Raises:
            OlderSchemaError: The file was written under an earlier schema (run it again).
            DataError: Naming `source` and the first bad field (or a schema version from a newer harness).
        """
        try:
            _check_schema_version(data, source)
            return from_json(cls, {k: v for k, v in data.items() if k != "schema_version"})
        except (TypeError, ValueError) as exc:
            message = exc.args[0] if exc.args else repr(exc)
            raise DataError(f"results file {source}: {message}") from None


def _check_schema_version(data: Any, source: str) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a JSON object, found {type(data).__name__}")
    if "schema_version" not in data:
        raise ValueError("missing field 'schema_version' (not a havir-bench results file?)")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise FieldError("schema_version", f"expected int, found {type(version).__name__}")
    if version < SCHEMA_VERSION:
        raise OlderSchemaError(
            f"results file {source}: schema_version {version}: written by an earlier version of havir-bench "
            f"(this one reads {SCHEMA_VERSION}); run it again"
        )
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version}: written by a newer version of havir-bench (this one reads "
            f"{SCHEMA_VERSION}); update havir-bench to read it"
        )

"""The knobs of SynthNSD, the synthetic twin of NSD: one frozen dataclass, two presets, a stable key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from eval.data import layout
from eval.errors import ConfigError

# Bump when the generator changes what it writes for the same config: callers cache datasets by key().
FORMAT_VERSION = 2  # 2: scenes whose meaning is in the objects' parts, not in colour or layout

# The real NSD release most papers use stops after session 37; these ratios reproduce its test split
# (982 of the 1000 shared images in 2,770 of their 3,000 trials) at any n_shared.
EARLY_SESSIONS = 37
EARLY_IMAGE_RATIO = 0.982
EARLY_TRIAL_RATIO = 2.770
REPS = 3


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the content of a SynthNSD dataset.

    Attributes:
        seed: Root of every random stream (non-negative).
        image_size: Side of the square stimuli in pixels (the real NSD uses 425).
        n_shared: Images shown to every subject (the test set; NSD: 1000).
        n_train: Distinct images per subject outside the shared set.
        subjects: Subjects that get brains; each needs all 40 sessions in the real NSD.
        volume_shape: Functional volume (X, Y, Z) of subject 1; other subjects get fixed offsets.
        cortex_depth: Thickness of the cortical shell, as a fraction of the brain radius.
        snr_range: Range of the per-voxel single-trial signal sd / noise sd.
        signal_pct: Typical signal sd in percent signal change.
        baseline_pct: Sd of the per-voxel mean beta across voxels (percent signal change).
        session_offset_pct: Sd of the per-session, per-voxel offsets.
        session_scale_sd: Sd of the per-session multiplicative gain around 1.
        idle_noise_pct: Noise sd of brain voxels that carry no stimulus signal.
        shared_noise_fraction: Share of each voxel's noise variance from trial-wise noise sources common to
            all voxels with smooth spatial loadings (real fMRI noise is spatially correlated).
        feature_grid: Side of the grid on which pRFs sample image features.
        max_objects: Most objects in one scene.
        missing_labels: (subject, atlas, label) triples left out of that subject's ROI volume.
    """

    seed: int = 0
    image_size: int = 64
    n_shared: int = 1000
    n_train: int = 1000
    subjects: tuple[int, ...] = (1, 2, 5, 7)
    volume_shape: tuple[int, int, int] = (28, 34, 28)
    cortex_depth: float = 0.3
    # NSD's noise-ceiling SNR (ncsnr) of nsdgeneral voxels mostly lies between about 0.1 and 0.6.
    snr_range: tuple[float, float] = (0.15, 0.6)
    signal_pct: float = 1.5
    baseline_pct: float = 1.0
    session_offset_pct: float = 0.5
    session_scale_sd: float = 0.1
    idle_noise_pct: float = 2.0
    shared_noise_fraction: float = 0.3
    feature_grid: int = 16
    max_objects: int = 4
    missing_labels: tuple[tuple[int, str, int], ...] = ((7, "floc-faces", 5), (7, "floc-words", 5))

    def __post_init__(self) -> None:
        self._validate()

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SynthConfig:
        """A named configuration, optionally with some fields replaced.

        Args:
            name: "default" (the embedded dataset: NSD's test split, 1000 training images per subject) or
                "ci" (a miniature on which a whole pipeline runs in seconds).
            **overrides: Fields to replace, e.g. ``seed=3``.
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown SynthNSD preset {name!r}; available: {', '.join(PRESETS)}")
        try:
            return dataclasses.replace(PRESETS[name], **overrides)
        except TypeError as exc:
            raise ConfigError(f"invalid SynthNSD config override: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthConfig:
        """Inverse of `to_dict` (lists become tuples again)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown SynthNSD config fields: {', '.join(unknown)}")
        return cls(**{k: _tuplify(v) for k, v in data.items()})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def key(self) -> str:
        """Short stable hash of every field and the format version, usable as a cache folder name."""
        blob = json.dumps({"format_version": FORMAT_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    @property
    def n_images(self) -> int:
        """Rows of the stimulus file: the shared images plus each subject's own training images."""
        return self.n_shared + len(self.subjects) * self.n_train

    @property
    def n_trials(self) -> int:
        return REPS * (self.n_shared + self.n_train)

    @property
    def trials_per_session(self) -> int:
        return self.n_trials // layout.DESIGN_SESSIONS

    @property
    def early_shared_images(self) -> int:
        """Shared images seen at least once in the first 37 sessions."""
        return round(EARLY_IMAGE_RATIO * self.n_shared)

    @property
    def early_shared_trials(self) -> int:
        """Shared trials in the first 37 sessions."""
        return round(EARLY_TRIAL_RATIO * self.n_shared)

    def _validate(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.image_size < 16:
            raise ConfigError(f"image_size must be at least 16 pixels, got {self.image_size}")
        if self.feature_grid < 4 or self.image_size % self.feature_grid:
            raise ConfigError(
                f"feature_grid ({self.feature_grid}) must be >= 4 and divide image_size ({self.image_size})"
            )
        if self.n_shared < 20 or self.n_train < 1:
            raise ConfigError(f"need n_shared >= 20 and n_train >= 1, got {self.n_shared} and {self.n_train}")
        if self.n_trials % layout.DESIGN_SESSIONS:
            raise ConfigError(
                f"3 x (n_shared + n_train) = {self.n_trials} trials must divide into {layout.DESIGN_SESSIONS} "
                f"equal sessions (the reader computes trials per session as len(masterordering) / 40): "
                f"choose n_shared + n_train divisible by 40"
            )
        bad = [s for s in self.subjects if s not in layout.SUBJECTS_WITH_ALL_SESSIONS]
        if not self.subjects or bad or len(set(self.subjects)) != len(self.subjects):
            raise ConfigError(
                f"subjects must be distinct members of {layout.SUBJECTS_WITH_ALL_SESSIONS}, got {self.subjects}"
            )
        if min(self.volume_shape) < 14 or len(self.volume_shape) != 3:
            raise ConfigError(f"volume_shape must be 3 sides of at least 14 voxels, got {self.volume_shape}")
        lo, hi = self.snr_range
        if not 0 < lo <= hi:
            raise ConfigError(f"snr_range must satisfy 0 < low <= high, got {self.snr_range}")
        if not 0 <= self.shared_noise_fraction <= 1:
            raise ConfigError(f"shared_noise_fraction must lie in [0, 1], got {self.shared_noise_fraction}")
        if not 0.1 <= self.cortex_depth <= 0.6:
            raise ConfigError(f"cortex_depth must lie in [0.1, 0.6], got {self.cortex_depth}")
        if not 1 <= self.max_objects <= 4:
            raise ConfigError(f"max_objects must lie in [1, 4], got {self.max_objects}")
        self._validate_split()

    def _validate_split(self) -> None:
        # The early sessions must hold the early shared trials; the last three the rest, and every early image
        # needs 1..3 of its trials in the early sessions.
        n, imgs, trials = self.n_shared, self.early_shared_images, self.early_shared_trials
        per_session = self.trials_per_session
        late_trials = REPS * n - trials
        problems = []
        if not imgs <= trials <= REPS * imgs:
            problems.append(f"{trials} early shared trials cannot cover {imgs} images 1 to 3 times each")
        if trials > EARLY_SESSIONS * per_session:
            problems.append(f"{trials} early shared trials exceed the {EARLY_SESSIONS * per_session} early trials")
        if late_trials > (layout.DESIGN_SESSIONS - EARLY_SESSIONS) * per_session:
            problems.append(f"{late_trials} late shared trials exceed the trials of sessions 38-40")
        if problems:
            raise ConfigError(
                f"n_shared={n}, n_train={self.n_train} cannot reproduce NSD's split: {'; '.join(problems)}"
            )


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


PRESETS: dict[str, SynthConfig] = {
    "default": SynthConfig(),
    # 3 x (200 + 200) = 1200 trials: 30 per session; small volumes and images so tests run in seconds.
    "ci": SynthConfig(image_size=32, n_shared=200, n_train=200, volume_shape=(18, 22, 18), feature_grid=8),
}

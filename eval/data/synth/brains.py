"""Voxel tuning (the simulation's ground truth) and simulated single-trial betas.

Three kinds of brain voxel:
- structural (nsdgeneral and (prf-visualrois > 0 or streams early)): a Gaussian population receptive field on
  a retinotopic map (pRF centre moves smoothly over cortex, size grows from V1 to hV4 and with eccentricity),
  weighting luminance, R-G and B-Y opponency and contrast energy. They see pixels only.
- semantic (the other nsdgeneral voxels of the mid/high ventral, lateral and midparietal streams, and every
  floc patch): a linear read-out of scene-graph features, with floc patches preferring plausible ones
  (faces and bodies: people and cats; places: the number of objects and their relations; words: signs).
- none (parietal nsdgeneral voxels and the rest of the brain): noise only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.data import layout
from eval.data.synth.anatomy import Anatomy, sectors
from eval.data.synth.config import SynthConfig
from eval.data.synth.features import CHANNELS, SEMANTIC_FEATURES
from eval.data.synth.seeding import stream

KIND_NAMES = ("none", "structural", "semantic")
AREA_NAMES = ("", "V1", "V2", "V3", "hV4")
ECC_MAX = 0.5  # fraction of the image side: the map reaches the middle of each image edge
NOISE_FACTORS = 8  # trial-wise latent noise sources shared by all voxels (spatially smooth loadings)
SIGMA0 = {1: 0.03, 2: 0.045, 3: 0.06, 4: 0.09}
SIGMA_SLOPE = {1: 0.12, 2: 0.18, 3: 0.25, 4: 0.35}
_F = {name: i for i, name in enumerate(SEMANTIC_FEATURES)}
# floc atlas -> (feature, weight) preferences added to a voxel's random semantic weights
FLOC_PREFERENCES: dict[str, tuple[tuple[str, float], ...]] = {
    "floc-faces": (("present_person", 2.5), ("count_person", 1.0), ("present_cat", 1.5), ("largest_person", 1.0)),
    "floc-bodies": (("present_person", 2.5), ("count_person", 1.5), ("present_cat", 1.0)),
    "floc-places": (("n_objects", 1.0), ("relations_horizontal", 0.8), ("relations_vertical", 0.8)),
    "floc-words": (("present_sign", 3.0), ("count_sign", 1.0), ("largest_sign", 1.0)),
}


@dataclass(frozen=True)
class Tuning:
    """Per brain voxel (in `Anatomy` order) parameters of the simulation."""

    kind: np.ndarray  # int8 index into KIND_NAMES
    prf_area: np.ndarray  # int8 index into AREA_NAMES (0 for non-structural voxels)
    prf_x: np.ndarray  # pRF centre, fraction of image width (NaN for non-structural voxels)
    prf_y: np.ndarray  # pRF centre, fraction of image height, y down
    prf_sigma: np.ndarray  # pRF sd, fraction of image side
    channel_weights: np.ndarray  # (n, len(CHANNELS)) weights on standardised pixel channels
    semantic_weights: np.ndarray  # (n, len(SEMANTIC_FEATURES)) weights on standardised semantic features
    amplitude: np.ndarray  # signal sd, percent signal change (0 for kind none)
    noise_sd: np.ndarray  # single-trial noise sd, percent signal change
    noise_loadings: np.ndarray  # (NOISE_FACTORS, n) loadings of the shared noise (unit norm per voxel)
    shared_noise_fraction: float  # share of each voxel's noise variance that comes from the shared factors
    baseline: np.ndarray  # mean beta, percent signal change
    session_offset: np.ndarray  # (40, n) percent signal change
    session_scale: np.ndarray  # (40,) gain of each session

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def voxel_kinds(anatomy: Anatomy) -> np.ndarray:
    """KIND_NAMES index of every brain voxel, from its ROI labels."""
    labels = anatomy.labels
    nsdgeneral = labels["nsdgeneral"] > 0
    streams = labels["streams"]
    structural = nsdgeneral & ((labels["prf-visualrois"] > 0) | (streams == 1))
    floc = np.zeros_like(nsdgeneral)
    for atlas in FLOC_PREFERENCES:
        floc |= labels[atlas] > 0
    semantic = ~structural & ((nsdgeneral & np.isin(streams, (2, 3, 4, 5, 6))) | floc)
    kind = np.zeros(anatomy.n_brain, dtype=np.int8)
    kind[structural] = 1
    kind[semantic] = 2
    return kind


def build_tuning(config: SynthConfig, anatomy: Anatomy) -> Tuning:
    """Draw the tuning of every brain voxel of `anatomy` (deterministic from the seed)."""
    rng = stream(config.seed, "tuning", anatomy.subject)
    n = anatomy.n_brain
    kind = voxel_kinds(anatomy)
    area, x, y, sigma = _retinotopy(rng, anatomy, kind == 1)
    channel = np.zeros((n, len(CHANNELS)), dtype=np.float32)
    m = int((kind == 1).sum())
    channel[kind == 1] = np.stack(
        [rng.normal(0, 1, m), rng.normal(0, 0.6, m), rng.normal(0, 0.6, m), np.abs(rng.normal(1.0, 0.4, m))], axis=1
    )
    semantic = _semantic_weights(rng, anatomy, kind == 2)

    amplitude = config.signal_pct * rng.uniform(0.7, 1.3, n)
    amplitude[anatomy.labels["streams"] == 4] *= 0.6  # midparietal: weakly driven
    amplitude[kind == 0] = 0.0
    snr = rng.uniform(*config.snr_range, n)
    noise_sd = np.where(kind > 0, amplitude / snr, config.idle_noise_pct * rng.uniform(0.7, 1.3, n))
    loadings = _noise_loadings(rng, anatomy)
    baseline = rng.normal(0.5, config.baseline_pct, n)
    sessions = layout.DESIGN_SESSIONS
    offset = rng.normal(0, config.session_offset_pct, (sessions, n))
    scale = np.clip(1 + rng.normal(0, config.session_scale_sd, sessions), 0.5, 1.5)
    f32 = np.float32
    return Tuning(kind, area, x.astype(f32), y.astype(f32), sigma.astype(f32), channel, semantic,
                  amplitude.astype(f32), noise_sd.astype(f32), loadings, config.shared_noise_fraction,
                  baseline.astype(f32), offset.astype(f32), scale.astype(f32))  # fmt: skip


def _noise_loadings(rng: np.random.Generator, anatomy: Anatomy) -> np.ndarray:
    """Smooth spatial patterns (random low-frequency plane waves over voxel positions), unit norm per voxel."""
    ijk = anatomy.ijk.astype(float)
    freq = rng.normal(0, 2 * np.pi / 12.0, (NOISE_FACTORS, 3))  # wavelengths of roughly a dozen voxels
    phase = rng.uniform(0, 2 * np.pi, (NOISE_FACTORS, 1))
    waves = np.cos(freq @ ijk.T + phase)
    waves /= np.linalg.norm(waves, axis=0, keepdims=True) + 1e-12
    return waves.astype(np.float32)


def _retinotopy(
    rng: np.random.Generator, anatomy: Anatomy, structural: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = anatomy.n_brain
    prf = anatomy.labels["prf-visualrois"]
    area = np.where(prf > 0, (prf + 1) // 2, 3).astype(np.int8)  # early voxels without a prf label: V3-like
    area[~structural] = 0
    theta = anatomy.theta.astype(float)
    frac = np.zeros(n)
    for k, name in enumerate(AREA_NAMES[1:], start=1):
        lo, hi = anatomy.area_edges[name]
        sel = area == k
        f = np.clip((theta[sel] - lo) / (hi - lo), 0, 1)
        frac[sel] = 1 - f if k in (2, 4) else f  # mirror reversals keep the map continuous across borders
    ecc = np.clip(ECC_MAX * (0.04 + 0.96 * frac) + rng.normal(0, 0.015, n), 0.0, 0.7)
    angle = np.radians(anatomy.phi.astype(float) + rng.normal(0, 5, n))
    # Contralateral, upside-down: right cortex (phi 0) sees the left field; dorsal (phi 90) the lower field.
    x = 0.5 - ecc * np.cos(angle)
    y = 0.5 + ecc * np.sin(angle)
    sigma = np.array([SIGMA0.get(int(a), 0.0) + SIGMA_SLOPE.get(int(a), 0.0) * e for a, e in zip(area, ecc)])
    sigma *= rng.uniform(0.85, 1.15, n)
    nan = ~structural
    x[nan], y[nan], sigma[nan] = np.nan, np.nan, np.nan
    return area, x, y, sigma


def _semantic_weights(rng: np.random.Generator, anatomy: Anatomy, semantic: np.ndarray) -> np.ndarray:
    n, d = anatomy.n_brain, len(SEMANTIC_FEATURES)
    weights = rng.normal(0, 1, (n, d)) * (rng.random((n, d)) < 0.3)
    sector = sectors(anatomy.phi)
    streams = anatomy.labels["streams"]
    ventral = np.isin(streams, (2, 5)) | ((sector == 0) & (streams == 0))
    lateral = np.isin(streams, (3, 6))
    # Ventral voxels: selective for a couple of categories; lateral voxels: counts and relations.
    for v in np.flatnonzero(ventral & semantic):
        weights[v, rng.choice(8, 2, replace=False)] += rng.normal(0, 2.0, 2)
    relational = [_F["n_objects"], _F["relations_horizontal"], _F["relations_vertical"], _F["relations_next_to"]]
    lateral_voxels = np.flatnonzero(lateral & semantic)
    weights[np.ix_(lateral_voxels, relational)] += rng.normal(0, 1.5, (lateral_voxels.size, len(relational)))
    for atlas, prefs in FLOC_PREFERENCES.items():
        sel = np.flatnonzero((anatomy.labels[atlas] > 0) & semantic)
        for feature, w in prefs:
            weights[sel, _F[feature]] += w * rng.uniform(0.6, 1.4, sel.size)
    weights[~semantic] = 0.0
    return weights.astype(np.float32)


def voxel_signal(tuning: Tuning, pixel: np.ndarray, sem: np.ndarray, grid: int) -> np.ndarray:
    """Noise-free responses in percent signal change: zero mean, sd = amplitude over the given images.

    Args:
        tuning: The subject's voxel tuning.
        pixel: (n_images, len(CHANNELS), grid * grid) standardised pixel features.
        sem: (n_images, len(SEMANTIC_FEATURES)) standardised semantic features.
        grid: Side of the pixel feature grid.

    Returns:
        float32 (n_images, n_brain).
    """
    out = np.zeros((pixel.shape[0], tuning.kind.size), dtype=np.float32)
    structural = np.flatnonzero(tuning.kind == 1)
    centres = (np.arange(grid, dtype=np.float32) + 0.5) / grid
    gy, gx = np.meshgrid(centres, centres, indexing="ij")
    dx = gx.ravel()[:, None] - tuning.prf_x[structural]
    dy = gy.ravel()[:, None] - tuning.prf_y[structural]
    dist2 = dx * dx + dy * dy
    # Shift by each pRF's nearest distance so a centre off the image cannot underflow every weight to 0.
    g = np.exp(-(dist2 - dist2.min(axis=0)) / (2 * tuning.prf_sigma[structural] ** 2))
    g /= g.sum(axis=0, keepdims=True)  # (grid*grid, n_structural)
    for c in range(pixel.shape[1]):
        out[:, structural] += (pixel[:, c, :] @ g) * tuning.channel_weights[structural, c]
    semantic = np.flatnonzero(tuning.kind == 2)
    out[:, semantic] = sem @ tuning.semantic_weights[semantic].T
    out -= out.mean(axis=0, keepdims=True)
    sd = out.std(axis=0, keepdims=True)
    out *= np.where(sd > 0, tuning.amplitude / np.maximum(sd, 1e-12), 0.0)
    return out


def session_betas(tuning: Tuning, signal: np.ndarray, session: int, rng: np.random.Generator) -> np.ndarray:
    """Stored betas (percent signal change x 300, int16) of one session's trials.

    Args:
        tuning: The subject's voxel tuning.
        signal: (n_trials, n_brain) noise-free responses to the session's images, in trial order.
        session: 1-based session number.
        rng: The session's own noise stream.
    """
    f = tuning.shared_noise_fraction
    noise = rng.standard_normal(signal.shape, dtype=np.float32)
    if f > 0:
        noise *= np.float32(np.sqrt(1 - f))
        factors = rng.standard_normal((signal.shape[0], NOISE_FACTORS), dtype=np.float32)
        noise += np.float32(np.sqrt(f)) * (factors @ tuning.noise_loadings)
    noise *= tuning.noise_sd
    noise += signal
    noise *= tuning.session_scale[session - 1]
    noise += tuning.baseline + tuning.session_offset[session - 1]
    stored = np.clip(np.rint(noise * layout.BETA_SCALE), -32768, 32767).astype(np.int16)
    stored[stored == 0] = 1  # keep 0 for outside the brain, so a nonzero test finds the whole brain
    return stored

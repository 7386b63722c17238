"""Per-subject brains in miniature: volume geometry, brain mask, cortical shell and ROI labels.

The brain is an ellipsoid whose outer shell plays cortex. Positions on the shell are read as angles from the
occipital pole at the posterior end (theta) and around the pole axis (phi: 0 right lateral, 90 superior,
180 left lateral, -90 inferior). Visual areas are rings around the pole (V1 innermost), streams are rings
split into ventral / lateral / parietal sectors, and floc regions are patches further on. Geometry, pole,
ring widths and patch positions are drawn per subject, never from a shared template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eval.data import layout
from eval.data.synth.config import SynthConfig
from eval.data.synth.seeding import stream

VOXEL_MM = 1.8
# Fixed per-subject volume offsets from subject 1's shape, so volumes always differ between subjects.
SHAPE_OFFSETS = {1: (0, 0, 0), 2: (1, 2, 1), 3: (-1, 1, 0), 4: (0, -2, -1), 5: (-1, -3, -2), 6: (1, -1, 1),
                 7: (-2, -4, -1), 8: (-1, -2, 0)}  # fmt: skip

LABEL_NAMES: dict[str, tuple[str, ...]] = {
    "nsdgeneral": ("nsdgeneral",),
    "prf-visualrois": ("V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"),
    "streams": ("early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"),
    "floc-faces": ("OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"),
    "floc-bodies": ("EBA", "FBA-1", "FBA-2", "mTL-bodies"),
    "floc-places": ("OPA", "PPA", "RSC"),
    "floc-words": ("OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"),
}
# Outer theta (degrees) of each ring before the per-subject scale; hV4 only in the ventral sector.
AREA_EDGES = {"V1": (0.0, 20.0), "V2": (20.0, 30.0), "V3": (30.0, 40.0), "hV4": (40.0, 52.0)}
MID_EDGE, HIGH_EDGE, PARIETAL_NSDGENERAL_EDGE = 56.0, 90.0, 72.0
# (label, theta, phi of each hemisphere's patch): floc patches, in degrees.
FLOC_PATCHES: dict[str, tuple[tuple[int, float, tuple[float, ...]], ...]] = {
    "floc-faces": ((1, 52, (-25, -155)), (2, 61, (-60, -120)), (3, 71, (-60, -120)), (4, 82, (-70, -110)),
                   (5, 96, (-70, -110))),
    "floc-bodies": ((1, 60, (5, 175)), (2, 63, (-48, -132)), (3, 75, (-48, -132)), (4, 86, (-58, -122))),
    "floc-places": ((1, 58, (40, 140)), (2, 66, (-78, -102)), (3, 74, (72, 108))),
    "floc-words": ((1, 52, (-45, -135)), (2, 62, (-142,)), (3, 72, (-142,)), (4, 80, (-125,)), (5, 88, (-112,))),
}  # fmt: skip
PATCH_FRACTION = 0.004  # voxels per patch, as a fraction of cortical voxels


@dataclass(frozen=True)
class Anatomy:
    """One subject's volume and the labels of its brain voxels.

    Brain voxels are listed in the order of the HDF5 betas' flattened (Z, Y, X) axes, i.e. NIfTI (X, Y, Z)
    in Fortran order, so writing a session is one scatter.
    """

    subject: int
    shape: tuple[int, int, int]
    affine: np.ndarray
    flat_index: np.ndarray  # (n_brain,) index into the Fortran-ordered (X, Y, Z) volume
    theta: np.ndarray  # (n_brain,) degrees from the occipital pole
    phi: np.ndarray  # (n_brain,) degrees around the pole axis
    cortex: np.ndarray  # (n_brain,) bool
    labels: dict[str, np.ndarray] = field(repr=False)  # atlas -> (n_brain,) int16, 0 = unlabelled
    area_edges: dict[str, tuple[float, float]] = field(repr=False)  # this subject's rings, degrees

    @property
    def n_brain(self) -> int:
        return int(self.flat_index.size)

    @property
    def ijk(self) -> np.ndarray:
        """(n_brain, 3) voxel indices into (X, Y, Z)."""
        return np.stack(np.unravel_index(self.flat_index, self.shape, order="F"), axis=1)

    def mask(self) -> np.ndarray:
        """(X, Y, Z) bool brain mask."""
        return self.scatter(np.ones(self.n_brain, dtype=bool), fill=False)

    def roi_volume(self, atlas: str) -> np.ndarray:
        """(X, Y, Z) int16 labels: -1 outside the brain, 0 unlabelled brain, else the atlas's label."""
        return self.scatter(self.labels[atlas], fill=-1).astype(np.int16)

    def scatter(self, values: np.ndarray, fill: float | bool) -> np.ndarray:
        vol = np.full(int(np.prod(self.shape)), fill, dtype=values.dtype)
        vol[self.flat_index] = values
        return vol.reshape(self.shape, order="F")


def subject_shape(config: SynthConfig, subject: int) -> tuple[int, int, int]:
    x, y, z = (a + b for a, b in zip(config.volume_shape, SHAPE_OFFSETS[subject], strict=True))
    return (int(x), int(y), int(z))


def build_anatomy(config: SynthConfig, subject: int) -> Anatomy:
    """Geometry and ROI labels of `subject` (deterministic from the seed)."""
    rng = stream(config.seed, "anatomy", subject)
    shape = subject_shape(config, subject)
    dims = np.asarray(shape, dtype=float)
    centre = (dims - 1) / 2 + rng.normal(0, 0.5, 3)
    radii = dims / 2 * rng.uniform(0.8, 0.88, 3)
    grid = np.stack(np.unravel_index(np.arange(int(dims.prod())), shape, order="F"), axis=1).astype(float)
    rel = (grid - centre) / radii
    rho = np.linalg.norm(rel, axis=1)
    flat = np.flatnonzero(rho <= 1.0)
    rel, rho = rel[flat], rho[flat]

    pole = _unit(np.array([rng.normal(0, 0.08), -1.0, rng.normal(-0.2, 0.08)]))
    ex = _unit(np.array([1.0, 0.0, 0.0]) - pole[0] * pole)
    ez = np.cross(pole, ex)
    direction = rel / np.maximum(rho, 1e-9)[:, None]
    theta = np.degrees(np.arccos(np.clip(direction @ pole, -1, 1)))
    phi = np.degrees(np.arctan2(direction @ ez, direction @ ex)) + rng.normal(0, 6)
    phi = (phi + 180) % 360 - 180
    cortex = rho > 1 - config.cortex_depth

    scale = rng.uniform(0.92, 1.08)
    edges = {area: (lo * scale, hi * scale) for area, (lo, hi) in AREA_EDGES.items()}
    labels = _visual_labels(theta, phi, cortex, edges, scale)
    for atlas, patches in FLOC_PATCHES.items():
        labels[atlas] = _floc_labels(rng, theta, phi, cortex, patches)
    for missing_subject, atlas, label in config.missing_labels:
        if missing_subject == subject:
            labels[atlas][labels[atlas] == label] = 0

    affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    affine[:3, 3] = -VOXEL_MM * (dims - 1) / 2
    return Anatomy(subject, shape, affine, flat.astype(np.int64), theta.astype(np.float32),
                   phi.astype(np.float32), cortex, labels, edges)  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def sectors(phi: np.ndarray) -> np.ndarray:
    """0 ventral, 1 lateral, 2 parietal (dorsal) sector of each phi."""
    out = np.ones(phi.shape, dtype=np.int8)
    out[(phi >= -140) & (phi <= -40)] = 0
    out[(phi >= 40) & (phi <= 140)] = 2
    return out


def _visual_labels(
    theta: np.ndarray, phi: np.ndarray, cortex: np.ndarray, edges: dict[str, tuple[float, float]], scale: float
) -> dict[str, np.ndarray]:
    n = theta.size
    dorsal = phi >= 0
    prf = np.zeros(n, dtype=np.int16)
    for k, area in enumerate(("V1", "V2", "V3")):
        lo, hi = edges[area]
        ring = cortex & (theta >= lo) & (theta < hi)
        prf[ring] = 2 * k + 1 + dorsal[ring]  # 1 V1v, 2 V1d, 3 V2v, ...
    lo, hi = edges["hV4"]
    prf[cortex & (theta >= lo) & (theta < hi) & (phi > -150) & (phi < -30)] = 7

    sector = sectors(phi)
    streams = np.zeros(n, dtype=np.int16)
    early_edge, mid_edge, high_edge = edges["V3"][1], MID_EDGE * scale, HIGH_EDGE * scale
    streams[cortex & (theta < early_edge)] = 1
    mid = cortex & (theta >= early_edge) & (theta < mid_edge)
    high = cortex & (theta >= mid_edge) & (theta < high_edge)
    # stream labels: mid 2 ventral, 3 lateral, 4 parietal; high 5, 6, 7 in the same order
    streams[mid] = 2 + sector[mid]
    streams[high] = 5 + sector[high]

    nsdgeneral = ((streams > 0) & ~((streams == 7) & (theta >= PARIETAL_NSDGENERAL_EDGE * scale))).astype(np.int16)
    return {"nsdgeneral": nsdgeneral, "prf-visualrois": prf, "streams": streams}


def _floc_labels(
    rng: np.random.Generator,
    theta: np.ndarray,
    phi: np.ndarray,
    cortex: np.ndarray,
    patches: tuple[tuple[int, float, tuple[float, ...]], ...],
) -> np.ndarray:
    out = np.zeros(theta.size, dtype=np.int16)
    candidates = np.flatnonzero(cortex)
    size = max(3, round(PATCH_FRACTION * candidates.size))
    th, ph = np.radians(theta[candidates]), np.radians(phi[candidates])
    for label, centre_theta, centre_phis in patches:
        for centre_phi in centre_phis:
            t0 = np.radians(centre_theta + rng.normal(0, 3))
            p0 = np.radians(centre_phi + rng.normal(0, 8))
            # Angular distance on the sphere between each candidate's direction and the patch centre.
            cos_d = np.cos(th) * np.cos(t0) + np.sin(th) * np.sin(t0) * np.cos(ph - p0)
            cos_d[out[candidates] > 0] = -2.0  # a voxel keeps the first label it gets within an atlas
            out[candidates[np.argsort(-cos_d, kind="stable")[:size]]] = label
    return out


def label_table_text(atlas: str) -> str:
    """FreeSurfer-style table of `atlas`: '0 Unknown' then one '<label> <name>' line per label."""
    lines = ["0 Unknown"] + [f"{i} {name}" for i, name in enumerate(LABEL_NAMES[atlas], start=1)]
    return "\n".join(lines) + "\n"


assert set(LABEL_NAMES) == set(layout.ROI_ATLASES), "every NSD atlas needs a label table"

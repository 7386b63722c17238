"""Training targets from the generation backbone: AutoKL latents z, CLIP image tokens e_img, text tokens e_cap.

Every decoder that regresses onto the backbone's inputs (HAVIR, the Brain-Diffuser and Takagi baselines,
MindEye) reads them from here, so they share one computation and one cache entry (`backbone-targets/` in the
cache folder). e_cap of an image is the mean of the VD text tokens of its captions (NSD has five per image): one
target per image that keeps what all captions share (Brain-Diffuser's caption target). Targets are cached on
disk, keyed by the backbone's weights and the exact list of images.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from eval.atomic import atomic_path
from eval.backbone.locate import MANIFEST, model_files
from eval.cache import Cache, stable_hash
from eval.data.stimuli import Stimuli
from eval.metrics.preprocess import resize

log = logging.getLogger(__name__)

TARGETS_VERSION = 1  # bump when the way targets are computed changes


@dataclass(frozen=True)
class Targets:
    """Per-image targets, rows in the order of the NSD ids they were computed for."""

    latents: torch.Tensor  # [n, C, h, w]
    image_tokens: torch.Tensor  # [n, L_img, D]
    text_tokens: torch.Tensor  # [n, L_txt, D]


def backbone_identity(folder: Path) -> str:
    """A content key of a VD folder: its SHA256SUMS manifest, else its weight files' names, sizes and times."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        return hashlib.sha256(manifest.read_bytes()).hexdigest()
    listing = [(p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in model_files(folder)]
    return stable_hash(listing)


def to_backbone_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images [N, 3, H, W] resized (bilinear, antialiased) to the autoencoder's side."""
    return resize(images, size, "bilinear", antialias=True).clamp(0, 1)  # rounding may step just outside [0, 1]


def compute_targets(vd, stimuli: Stimuli, nsd_ids: np.ndarray, batch_size: int = 64) -> Targets:
    """z, e_img and e_cap of every image in `nsd_ids`, computed with backbone `vd`."""
    ids = np.asarray(nsd_ids, dtype=np.int64)
    latents, image_tokens, text_tokens = [], [], []
    captions = stimuli.captions(ids)
    for start in tqdm(range(0, ids.size, batch_size), desc="backbone targets", unit="batch", leave=False):
        images = to_backbone_size(stimuli.images_tensor(ids[start : start + batch_size]), vd.info.image_size)
        latents.append(vd.encode(images))
        image_tokens.append(vd.image_tokens(images))
        text_tokens.append(vd.caption_tokens(captions[start : start + batch_size]))
    return Targets(torch.cat(latents), torch.cat(image_tokens), torch.cat(text_tokens))


def cached_targets(vd, stimuli: Stimuli, nsd_ids: np.ndarray, cache: Cache | None = None) -> Targets:
    """`compute_targets`, read from or written to the cache (atomically)."""
    ids = np.asarray(nsd_ids, dtype=np.int64)
    cache = Cache.at(cache)
    key = {
        "version": TARGETS_VERSION,
        "backbone": backbone_identity(Path(vd.info.folder)),
        "stimuli": str(stimuli.images_path.resolve()),
        "stimuli_size": stimuli.images_path.stat().st_size,
        "ids": hashlib.sha256(ids.tobytes()).hexdigest(),
    }
    path = cache.entry("targets", key, length=32, suffix=".safetensors")
    stored = cache.read(path, lambda entry: _read_targets(entry, ids.size), "backbone targets")
    if stored is not None:
        log.info("backbone targets read from %s", path)
        return stored
    targets = compute_targets(vd, stimuli, ids)
    with atomic_path(path) as tmp:
        save_file(
            {
                "latents": targets.latents.contiguous(),
                "image_tokens": targets.image_tokens.contiguous(),
                "text_tokens": targets.text_tokens.contiguous(),
            },
            str(tmp),
        )
    log.info("backbone targets written to %s", path)
    return targets


def _read_targets(path: Path, n_images: int) -> Targets:
    """A cache entry's targets; KeyError or ValueError when it is damaged, so the cache recomputes it."""
    stored = load_file(str(path))
    targets = Targets(stored["latents"], stored["image_tokens"], stored["text_tokens"])
    for name, tensor in vars(targets).items():
        if tensor.shape[0] != n_images:
            raise ValueError(f"{name}: expected {n_images} rows, found shape {tuple(tensor.shape)}")
    return targets

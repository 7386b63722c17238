"""Images for decoder pages: the best and worst reconstructions per metric beside their ground truth.

Reconstructions come from a run's `reconstructions` artifact (`images` uint8 (n, H, W, 3), `nsd_ids`); ground
truth and captions from the dataset root the results file names, through the harness's stimuli reader.
Thumbnails are written once: ground truth under the test set's fingerprint (shared by every decoder and
subject), reconstructions under the artifact's size and modification time.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from eval.errors import DataError, HarnessError

log = logging.getLogger(__name__)

THUMB = 96  # longest side of a thumbnail in pixels; smaller images are kept at their size


def extremes(scores: Sequence[float], direction: str, k: int) -> tuple[list[int], list[int]]:
    """Indices of the `k` best and the `k` worst scores (best first; worst from the very worst), ties by order."""
    values = np.asarray(scores, dtype=float)
    order = np.argsort(-values if direction == "higher" else values, kind="stable")
    k = min(k, values.size // 2) if values.size > 1 else values.size
    return order[:k].tolist(), order[::-1][:k].tolist() if values.size > 1 else []


def load_reconstructions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """`images` uint8 (n, H, W, 3) and `nsd_ids` (n,) of a reconstructions file.

    Raises:
        DataError: The file is missing, unreadable or not of that form (named).
    """
    if path.is_file() and not zipfile.is_zipfile(path):
        raise DataError(f"reconstructions {path}: expected an .npz (zip) file, found another format")
    try:
        with np.load(path) as data:
            images, ids = data["images"], data["nsd_ids"]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"reconstructions {path}: expected an .npz with 'images' and 'nsd_ids', found: {exc}"
        ) from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or ids.shape != (images.shape[0],):
        raise DataError(
            f"reconstructions {path}: expected images uint8 (n, H, W, 3) and n nsd_ids, "
            f"found images {images.dtype} {images.shape} and nsd_ids {ids.shape}"
        )
    return images, ids.astype(np.int64)


def _save_thumbnail(image: np.ndarray, path: Path) -> None:
    """A PNG of `image` (shrunk to THUMB if larger) at `path`, written beside it and renamed into place, so a
    thumbnail that exists is complete (its existence is what tells a later render to keep it)."""
    tile = Image.fromarray(np.ascontiguousarray(image))
    if max(tile.size) > THUMB:
        tile.thumbnail((THUMB, THUMB), Image.LANCZOS)
    data = io.BytesIO()
    tile.save(data, format="PNG")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data.getbuffer())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HarnessError(f"cannot write to folder {path.parent}: {exc.strerror or exc}") from exc
    os.replace(tmp, path)


def _existing(folder: Path) -> set[str]:
    """Names of the files in `folder`, made if absent: one listing instead of a check per thumbnail."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return set(os.listdir(folder))
    except OSError as exc:
        raise HarnessError(f"cannot write to folder {folder}: {exc.strerror or exc}") from exc


class GroundTruth:
    """Ground-truth images and captions of one dataset root, or why they cannot be shown."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.reason: str | None = None
        self._stimuli = None
        if not self.root.is_dir():
            self.reason = f"dataset root {self.root} (named in the results file) is not on this machine"
            return
        from eval.data.stimuli import Stimuli  # h5py and pandas: only when a root is there

        self._stimuli = Stimuli(self.root)

    def thumbnails(self, nsd_ids: Sequence[int], folder: Path) -> dict[int, Path]:
        """Thumbnail path per NSD id under `folder` (written if absent); empty when unreachable (see `reason`).

        Raises:
            HarnessError: The stimuli file cannot be read or lacks an id (named).
        """
        if self._stimuli is None:
            return {}
        paths = {int(i): folder / f"{int(i)}.png" for i in nsd_ids}
        existing = _existing(folder)
        missing = sorted(i for i, p in paths.items() if p.name not in existing)
        if missing:
            images = self._stimuli.images(np.asarray(missing))
            for i, image in zip(missing, images):
                _save_thumbnail(image, paths[i])
        return paths

    def captions(self, nsd_ids: Sequence[int]) -> dict[int, list[str]]:
        """COCO captions per NSD id; empty when they cannot be read (logged)."""
        if self._stimuli is None or not len(nsd_ids):
            return {}
        try:
            return dict(zip((int(i) for i in nsd_ids), self._stimuli.captions(np.asarray(nsd_ids))))
        except HarnessError as exc:
            log.warning("captions not shown: %s", exc)
            return {}


@dataclass(frozen=True)
class Reconstructions:
    """A run's reconstructions, indexed by NSD id."""

    path: Path
    images: np.ndarray
    index: dict[int, int]

    @classmethod
    def read(cls, path: Path) -> Reconstructions:
        images, ids = load_reconstructions(path)
        return cls(path, images, {int(i): k for k, i in enumerate(ids)})

    def thumbnails(self, nsd_ids: Sequence[int], folder: Path) -> dict[int, Path]:
        """Thumbnail path per NSD id present in the file, written unless this version of the file already was."""
        stat = self.path.stat()
        folder = folder / f"{self.path.stem}-{stat.st_size:x}-{stat.st_mtime_ns:x}"
        existing = _existing(folder)
        out = {}
        for i in nsd_ids:
            if int(i) not in self.index:
                continue
            out[int(i)] = path = folder / f"{int(i)}.png"
            if path.name not in existing:
                _save_thumbnail(self.images[self.index[int(i)]], path)
        return out

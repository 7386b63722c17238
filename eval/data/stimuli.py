"""NSD stimuli by NSD id: images from `nsd_stimuli.hdf5`, captions from COCO through the stim-info table."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import pandas as pd

from eval.data import layout
from eval.data.volumes import require_file
from eval.errors import DataError

if TYPE_CHECKING:  # torch is imported where tensors are made, so reading images and captions stays light
    import torch


class Stimuli:
    """Read-only access to the stimulus images and captions of one NSD root."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.images_path = layout.stimuli(self.root)

    @cached_property
    def _brick_shape(self) -> tuple[int, ...]:
        with self._open() as handle:
            return tuple(handle["imgBrick"].shape)

    @property
    def n_images(self) -> int:
        return self._brick_shape[0]

    @property
    def image_size(self) -> tuple[int, int]:
        return self._brick_shape[1], self._brick_shape[2]

    def _open(self) -> h5py.File:
        require_file(self.images_path, "NSD stimuli")
        try:
            handle = h5py.File(self.images_path, "r")
        except OSError as exc:
            raise DataError(f"cannot read NSD stimuli {self.images_path}: {exc}") from exc
        # Every message is built while the file is open: a closed handle has no keys and no dataset to describe.
        if "imgBrick" not in handle:
            found = sorted(handle.keys())
            handle.close()
            raise DataError(f"NSD stimuli {self.images_path}: expected dataset 'imgBrick', found {found}")
        brick = handle["imgBrick"]
        if not isinstance(brick, h5py.Dataset) or brick.ndim != 4 or brick.shape[3] != 3 or brick.dtype != np.uint8:
            found = f"{brick.dtype} {brick.shape}" if isinstance(brick, h5py.Dataset) else "a group"
            handle.close()
            raise DataError(f"NSD stimuli {self.images_path}: expected imgBrick as uint8 (n, H, W, 3), found {found}")
        return handle

    def images(self, nsd_ids: np.ndarray) -> np.ndarray:
        """uint8 (n, H, W, 3) images in the order of `nsd_ids`."""
        ids = np.asarray(nsd_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_images):
            raise DataError(
                f"NSD stimuli {self.images_path}: expected ids in 0..{self.n_images - 1}, "
                f"found {ids.min()}..{ids.max()}"
            )
        unique, inverse = np.unique(ids, return_inverse=True)  # h5py needs increasing indices
        with self._open() as handle:
            brick = handle["imgBrick"]
            block = np.empty((unique.size, *brick.shape[1:]), dtype=np.uint8)
            for start in range(0, unique.size, 256):
                chunk = unique[start : start + 256]
                try:
                    block[start : start + 256] = brick[chunk]
                except OSError as exc:  # a truncated or corrupt file fails only when its data is read
                    raise DataError(
                        f"cannot read NSD stimuli {self.images_path}: imgBrick rows {chunk[0]}..{chunk[-1]}: {exc}"
                    ) from exc
        return block[inverse]

    def images_tensor(self, nsd_ids: np.ndarray) -> torch.Tensor:
        """float32 [n, 3, H, W] in [0, 1], the harness's image convention."""
        return uint8_to_tensor(self.images(nsd_ids))

    def tensor_batches(self, nsd_ids: np.ndarray, batch_size: int = 256) -> Iterator[torch.Tensor]:
        """`images_tensor` in chunks, so a whole training set (4.8 GB at 425 px on NSD) never sits in memory."""
        ids = np.asarray(nsd_ids, dtype=np.int64)
        for start in range(0, ids.size, batch_size):
            yield self.images_tensor(ids[start : start + batch_size])

    @cached_property
    def stim_info(self) -> pd.DataFrame:
        path = require_file(layout.stim_info(self.root), "NSD stim-info table")
        table = pd.read_csv(path, index_col=0)
        missing = {"nsdId", "cocoId", "cocoSplit"} - set(table.columns)
        if missing:
            raise DataError(f"NSD stim-info table {path}: expected columns {sorted(missing)}, not found")
        return table.set_index("nsdId", drop=False)

    @cached_property
    def _captions_by_coco_id(self) -> dict[tuple[str, int], list[str]]:
        captions: dict[tuple[str, int], list[str]] = {}
        for split in sorted(self.stim_info["cocoSplit"].unique()):
            path = require_file(layout.coco_captions(self.root, split), f"COCO captions ({split})")
            try:
                annotations = json.loads(path.read_text())["annotations"]
            except (json.JSONDecodeError, KeyError) as exc:
                raise DataError(f"COCO captions {path}: expected JSON with 'annotations', found {exc}") from exc
            for entry in annotations:
                captions.setdefault((split, int(entry["image_id"])), []).append(str(entry["caption"]).strip())
        return captions

    def captions(self, nsd_ids: np.ndarray) -> list[list[str]]:
        """The COCO captions of each image (usually five), in the order of `nsd_ids`."""
        rows = self.stim_info.reindex(np.asarray(nsd_ids, dtype=np.int64))
        if rows["cocoId"].isna().any():
            missing = np.asarray(nsd_ids)[rows["cocoId"].isna().to_numpy()][:5].tolist()
            raise DataError(f"NSD stim-info table {layout.stim_info(self.root)}: no row for NSD ids {missing}")
        out = []
        for split, coco_id in zip(rows["cocoSplit"], rows["cocoId"].astype(np.int64)):
            found = self._captions_by_coco_id.get((split, int(coco_id)))
            if not found:
                raise DataError(f"COCO captions ({split}): no caption for cocoId {coco_id}")
            out.append(found)
        return out


def uint8_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float32 [n, 3, H, W] in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def test_set_fingerprint(nsd_ids: np.ndarray, images: np.ndarray) -> str:
    """Identity of a test set: its NSD ids and the bytes of its images (the same for every subject)."""
    digest = hashlib.sha256(np.ascontiguousarray(nsd_ids, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()

"""A retrieval floor: map voxels linearly to low-resolution image features, return the closest training image.

Any decoder worth publishing should beat this: it can only return images the subject saw during training.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

from baselines.ridge import RidgeModel, fit_ridge
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import DataError, HarnessError

log = logging.getLogger(__name__)

FEATURE_SIZE = 16  # images are described by their 16x16 colour thumbnail (768 numbers)


def image_features(batch: torch.Tensor) -> np.ndarray:
    """Area-averaged 16x16 RGB thumbnails, flattened: what the linear map predicts."""
    small = F.adaptive_avg_pool2d(batch, FEATURE_SIZE)
    return small.flatten(1).numpy().astype(np.float64)


def _standardise_rows(features: np.ndarray) -> np.ndarray:
    centred = features - features.mean(axis=1, keepdims=True)
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)


class NearestNeighbourDecoder:
    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        self.meta = DecoderMeta(NEAREST_NEIGHBOUR.name, NEAREST_NEIGHBOUR.kind, NEAREST_NEIGHBOUR.description)
        self._seed = context.seed
        self._model: RidgeModel | None = None
        self._stimuli: Stimuli | None = None
        self._train_ids: np.ndarray | None = None
        self._train_features: np.ndarray | None = None
        self._fingerprint = ""

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._attach(data, stimuli)
        self._model = fit_ridge(data.train_fmri, self._train_features, seed=self._seed)
        log.info("nearest_neighbour: ridge alpha %.3g", self._model.alpha)

    def _attach(self, data: SubjectData, stimuli: Stimuli) -> None:
        self._stimuli, self._train_ids, self._fingerprint = stimuli, np.asarray(data.train_ids), data.fingerprint
        self._train_features = np.concatenate([image_features(b) for b in stimuli.tensor_batches(data.train_ids)])

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        if self._model is None:
            raise HarnessError("decoder 'nearest_neighbour': reconstruct() called before fit()")
        predicted = _standardise_rows(self._model.predict(inputs.fmri))
        candidates = _standardise_rows(self._train_features)
        nearest = np.argmax(predicted @ candidates.T, axis=1)  # highest correlation across feature dimensions
        return self._stimuli.images_tensor(self._train_ids[nearest])

    def save(self, folder: Path) -> None:
        save_file(
            {
                "weights": self._model.weights,
                "x_mean": self._model.x_mean,
                "y_mean": self._model.y_mean,
                "alpha": np.array([self._model.alpha]),
            },
            str(folder / "ridge.safetensors"),
            metadata={"data_fingerprint": self._fingerprint},
        )

    def load(self, folder: Path, data: SubjectData, stimuli: Stimuli) -> None:
        from safetensors import safe_open

        path = folder / "ridge.safetensors"
        with safe_open(str(path), framework="numpy") as handle:
            stored = (handle.metadata() or {}).get("data_fingerprint", "")
        if stored != data.fingerprint:
            raise DataError(
                f"checkpoint {path}: trained on data fingerprint {stored[:12] or 'unknown'}, "
                f"expected {data.fingerprint[:12]} (this subject's prepared data)"
            )
        arrays = load_file(str(path))
        if arrays["weights"].shape[0] != data.n_voxels:
            raise DataError(f"checkpoint {path}: expected {data.n_voxels} voxels, found {arrays['weights'].shape[0]}")
        self._attach(data, stimuli)
        self._model = RidgeModel(arrays["weights"], arrays["x_mean"], arrays["y_mean"], float(arrays["alpha"][0]))


NEAREST_NEIGHBOUR = DecoderSpec(
    name="nearest_neighbour",
    kind="reference",
    description="ridge map from voxels to 16x16 colour thumbnails, then the closest training image",
    build=NearestNeighbourDecoder,
)

"""Batched feature extraction, and the cache that computes each test set's ground-truth features once.

Features are stored standardised per image (`identification.standardise_rows`): that is all both the
identification and the distance metrics need. Cache entries live under `<cache root>/features/<key>/`, one
`.npy` per node, keyed by the images' content hash and everything that changes the features (extractor spec,
weight identity, the protocol's common resize, torch version); they are read memory-mapped.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from eval.atomic import atomic_folder
from eval.cache import Cache, read_meta, stable_hash
from eval.metrics.identification import standardise_rows
from eval.metrics.pixel import single_threaded_ops
from eval.metrics.preprocess import network_input
from eval.metrics.protocol import MetricProtocol
from eval.metrics.weights import LoadedExtractor

log = logging.getLogger(__name__)

BATCH_SIZE = 32
# Writes cache entries in the background; the interpreter waits for its queue before exiting, and each
# entry appears in one rename (`atomic_folder`), so a reader never sees half of one.
_CACHE_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feature-cache-writer")


def extract(
    loaded: LoadedExtractor,
    images: torch.Tensor,
    protocol: MetricProtocol,
    *,
    batch_size: int = BATCH_SIZE,
    device: str = "cpu",
    desc: str = "",
) -> dict[str, np.ndarray]:
    """Standardised features of every node of `loaded`, float32 [N, D] per node.

    Args:
        loaded: The extractor.
        images: float32 [N, 3, H, W] in [0, 1] (validated by the caller).
        protocol: Supplies the common resize before the network's own.
        batch_size: Images per forward pass; memory stays bounded whatever N is.
        device: Where the network runs.
        desc: Progress bar label.
    """
    net = loaded.net.to(device).eval()
    n = images.shape[0]
    out: dict[str, np.ndarray] = {}

    def forward(batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            return {node: feats.cpu() for node, feats in net(batch).items()}

    def store(start: int, raw: dict[str, torch.Tensor]) -> None:
        for node, feats in raw.items():
            if node not in out:
                out[node] = np.empty((n, feats[0].numel()), dtype=np.float32)
            standardise_rows(feats, out=torch.from_numpy(out[node][start : start + feats.shape[0]]))

    # On CPU, one batch per worker thread, each single-threaded: as fast as torch's intra-op threads on an
    # idle machine, and it does not stall (10x, measured) when other processes compete for the cores.
    # This thread prepares the next inputs and standardises finished batches while the workers run the
    # network, so preparation and standardisation overlap the forward passes.
    workers = torch.get_num_threads() if torch.device(device).type == "cpu" else 1
    with (
        single_threaded_ops() if workers > 1 else nullcontext(),
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=n, desc=desc or loaded.spec.name, unit="img", disable=None, leave=False) as bar,
    ):
        running: deque[tuple[int, Future]] = deque()
        for start in range(0, n, batch_size):
            with torch.inference_mode():
                batch = network_input(images[start : start + batch_size].to(device), loaded.spec, protocol)
            running.append((start, pool.submit(forward, batch)))
            while len(running) > workers:
                bar.update(_finish(running.popleft(), store))
        while running:
            bar.update(_finish(running.popleft(), store))
    return out


def _finish(job: tuple[int, Future], store: Callable[[int, dict[str, torch.Tensor]], None]) -> int:
    """Wait for one batch's features and store them; the number of images it held."""
    start, future = job
    raw = future.result()
    store(start, raw)
    return next(iter(raw.values())).shape[0]


def feature_key(loaded: LoadedExtractor, protocol: MetricProtocol, images_fingerprint: str) -> str:
    """Cache key of one image set's features under one extractor."""
    identity = {k: v for k, v in loaded.provenance.items() if k not in ("file", "folder")}
    return stable_hash(
        {
            "images": images_fingerprint,
            "spec": loaded.spec.key(),
            "weights": identity,
            "preprocessing": protocol.network_preprocessing(),
            "torch": ".".join(torch.__version__.split(".")[:2]),
            "format": 2,
        },
        length=24,
    )


def cached_features(
    loaded: LoadedExtractor,
    images: torch.Tensor,
    images_fingerprint: str,
    protocol: MetricProtocol,
    *,
    cache: Cache | None = None,
    device: str = "cpu",
    batch_size: int = BATCH_SIZE,
    pending_writes: list[Future] | None = None,
) -> dict[str, np.ndarray]:
    """`extract`, through the on-disk cache: computed once per (images, extractor), then memory-mapped.

    With `pending_writes`, a new entry is written by a background thread while scoring goes on, and the
    write's future is appended there for the caller to wait on; without, it is written before returning.
    """
    cache = Cache.at(cache)
    folder = cache.entry("features", feature_key(loaded, protocol, images_fingerprint), prefix=loaded.spec.name)
    cached = cache.read(
        folder, lambda entry: _read_entry(entry, images.shape[0]), f"{loaded.spec.name} ground-truth features"
    )
    if cached is not None:
        log.info("%s: ground-truth features from cache %s", loaded.spec.name, folder)
        return cached
    features = extract(
        loaded, images, protocol, batch_size=batch_size, device=device, desc=f"{loaded.spec.name} (ground truth)"
    )
    if pending_writes is None:
        _write_entry(folder, features, loaded)
    else:
        pending_writes.append(_CACHE_WRITER.submit(_write_entry, folder, features, loaded))
    return features


def _read_entry(folder: Path, n_images: int) -> dict[str, np.ndarray]:
    """The entry's features, memory-mapped; ValueError, OSError or KeyError when it is damaged."""
    nodes = read_meta(folder / "meta.json")["nodes"]
    features = {node: np.load(folder / f"{i}.npy", mmap_mode="c") for i, node in enumerate(nodes)}
    for i, array in enumerate(features.values()):
        if array.ndim != 2 or array.shape[0] != n_images:
            raise ValueError(f"{folder / f'{i}.npy'}: expected {n_images} rows of features, found shape {array.shape}")
    return features


def _write_entry(folder: Path, features: dict[str, np.ndarray], loaded: LoadedExtractor) -> None:
    with atomic_folder(folder) as tmp:
        for i, array in enumerate(features.values()):
            np.save(tmp / f"{i}.npy", array)
        (tmp / "meta.json").write_text(json.dumps({"nodes": list(features), "spec": loaded.spec.key()}))

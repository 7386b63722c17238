"""The `seeded` weight source: every extractor without published weights, still sensitive to the image.

Random initialisation alone is not enough: the pooled features of a random EfficientNet or ResNet barely
depend on the image (correlation distance ~0 between unrelated images). So a seeded extractor is

1. the architecture initialised by its library's own scheme from a fixed torch seed;
2. its BatchNorm statistics re-estimated (cumulative average, train-mode batches) on calibration images;
3. every node feature standardised (mean 0, std 1 over the calibration images), so that what all images share
   no longer dominates the correlation between two of them.

Calibration images are the dataset's first `CALIBRATION_IMAGES` NSD ids outside the shared test images, the
same for every subject. The calibrated state is cached, keyed by everything that changes it. For CLIP, the
MiniVD vision encoder trained on SynthNSD is used as is when its folder exists (`MINIVD_DIR`).
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from eval.atomic import atomic_path
from eval.cache import Cache, stable_hash
from eval.errors import DataError
from eval.metrics import networks
from eval.metrics.extractors import ExtractorSpec
from eval.metrics.pixel import single_threaded_ops
from eval.metrics.preprocess import network_input
from eval.metrics.protocol import MetricProtocol
from eval.metrics.weights import LoadedExtractor, file_sha256

log = logging.getLogger(__name__)

# The trained CLIP of SynthNSD: a diffusers Versatile-Diffusion folder whose vision tower is used.
MINIVD_DIR = Path(__file__).resolve().parents[1] / "backbone" / "minivd"
MINIVD_LABEL = "MiniVD CLIP vision encoder trained on SynthNSD"
CALIBRATION_IMAGES = 256
METHOD_VERSION = 2  # bump when the calibration changes
_BATCH = 64


@dataclass(frozen=True)
class CalibrationSet:
    """Images the seeded extractors are calibrated on, and their identity."""

    images: torch.Tensor  # float32 [K, 3, H, W] in [0, 1]
    fingerprint: str
    description: str


def calibration_set(root: Path, count: int = CALIBRATION_IMAGES) -> CalibrationSet:
    """The first `count` NSD ids of the stimuli that are not shared test images (subject-independent)."""
    from eval.data.design import load_design
    from eval.data.stimuli import Stimuli, test_set_fingerprint, uint8_to_tensor

    stimuli = Stimuli(root)
    shared = set(load_design(root).sharedix.tolist())
    ids = np.asarray([i for i in range(stimuli.n_images) if i not in shared][:count], dtype=np.int64)
    if ids.size == 0:
        raise DataError(f"NSD stimuli under {root}: no image outside the shared test images to calibrate on")
    images = stimuli.images(ids)
    return CalibrationSet(
        images=uint8_to_tensor(images),
        fingerprint=test_set_fingerprint(ids, images),
        description=f"{ids.size} images outside the shared test set (NSD ids {ids[0]}..{ids[-1]})",
    )


class Standardised(nn.Module):
    """A NodeNet whose node features are standardised with stored calibration statistics."""

    def __init__(self, net: networks.NodeNet, dims: dict[str, int]) -> None:
        super().__init__()
        self.net = net
        self.nodes = net.nodes
        for i, node in enumerate(self.nodes):
            self.register_buffer(f"mean{i}", torch.zeros(dims[node]))
            self.register_buffer(f"scale{i}", torch.ones(dims[node]))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.net(x)
        return {
            node: (out[node] - getattr(self, f"mean{i}")) * getattr(self, f"scale{i}")
            for i, node in enumerate(self.nodes)
        }


def minivd_config(folder: Path = MINIVD_DIR) -> dict[str, Any] | None:
    """Size, mean and std of MiniVD's image preprocessing, or None when the folder is absent."""
    config = folder / "image_feature_extractor" / "preprocessor_config.json"
    if not (folder / "image_encoder").is_dir() or not config.is_file():
        return None
    fields = json.loads(config.read_text())
    crop = fields.get("crop_size", fields.get("size"))
    size = crop.get("height", crop.get("shortest_edge")) if isinstance(crop, dict) else crop
    return {"size": int(size), "mean": tuple(fields["image_mean"]), "std": tuple(fields["image_std"])}


def _load_minivd(spec: ExtractorSpec, folder: Path) -> LoadedExtractor | None:
    config = minivd_config(folder)
    if config is None:
        return None
    from transformers import CLIPVisionModelWithProjection

    model = CLIPVisionModelWithProjection.from_pretrained(folder / "image_encoder", local_files_only=True)
    used = replace(spec, size=config["size"], mean=config["mean"], std=config["std"], interpolation="bicubic")
    encoder_files = sorted(p for p in (folder / "image_encoder").iterdir() if p.is_file())
    digest = stable_hash({p.name: file_sha256(p) for p in encoder_files})  # the identity features are cached by
    provenance = {"source": "seeded", "method": MINIVD_LABEL, "folder": str(folder), "sha256": digest, **config}
    return LoadedExtractor(networks.wrap(spec.architecture, model.eval(), spec.nodes), used, provenance)


def random_net(spec: ExtractorSpec, seed: int) -> networks.NodeNet:
    """The architecture of `spec` initialised from `seed`, uncalibrated (what the seeded source starts from)."""
    # Single-threaded: initialisation is many small ops, which torch's intra-op threads slow down badly when
    # other processes compete for the cores (measured 5x), and it stays deterministic either way.
    with single_threaded_ops():
        torch.manual_seed(seed)
        if spec.architecture == "clip_vit_l14":
            config = {**networks.SEEDED_CLIP_CONFIG, "image_size": spec.size, "patch_size": max(1, spec.size // 8)}
            from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

            model = CLIPVisionModelWithProjection(CLIPVisionConfig(**config))
        else:
            model = networks.build_torchvision(spec.architecture, for_pretrained=False)
        return networks.wrap(spec.architecture, model.eval(), spec.nodes)


def _batches(images: torch.Tensor, spec: ExtractorSpec, protocol: MetricProtocol, device: str, what: str):
    for start in tqdm(range(0, images.shape[0], _BATCH), desc=what, unit="batch", disable=None, leave=False):
        yield network_input(images[start : start + _BATCH].to(device), spec, protocol)


@torch.no_grad()
def _calibrate(
    net: networks.NodeNet, spec: ExtractorSpec, protocol: MetricProtocol, images: torch.Tensor, device: str
) -> Standardised:
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # cumulative average over the calibration batches
        module.train()
    if norms:
        for x in _batches(images, spec, protocol, device, f"{spec.name}: BatchNorm calibration"):
            net(x)
    net.eval()
    sums: dict[str, torch.Tensor] = {}
    squares: dict[str, torch.Tensor] = {}
    for x in _batches(images, spec, protocol, device, f"{spec.name}: feature statistics"):
        for node, f in net(x).items():
            f = f.double()
            sums[node] = sums.get(node, 0) + f.sum(0)
            squares[node] = squares.get(node, 0) + f.square().sum(0)
    count = images.shape[0]
    out = Standardised(net, {node: s.numel() for node, s in sums.items()}).to(device)  # its statistics too
    for i, node in enumerate(net.nodes):
        mean = sums[node] / count
        std = (squares[node] / count - mean.square()).clamp_min(0).sqrt()
        getattr(out, f"mean{i}").copy_(mean.float())
        # A feature constant over the calibration images (a dead unit) is only centred.
        getattr(out, f"scale{i}").copy_(torch.where(std > 1e-6, 1 / std.clamp_min(1e-6), 1.0).float())
    return out.eval()


def load_seeded(
    spec: ExtractorSpec,
    protocol: MetricProtocol,
    calibration: CalibrationSet,
    *,
    seed: int = 0,
    cache: Cache | None = None,
    device: str = "cpu",
    minivd_dir: Path = MINIVD_DIR,
) -> LoadedExtractor:
    """A seeded, calibrated extractor (or MiniVD's trained CLIP), its calibrated state cached.

    Args:
        spec: The extractor.
        protocol: Its protocol (its common resize precedes the network's).
        calibration: Images to calibrate on.
        seed: torch seed of the initialisation.
        cache: The cache (default: `Cache.at()`).
        device: Where calibration runs.
        minivd_dir: The trained SynthNSD CLIP's folder (used for CLIP when present).
    """
    if spec.architecture == "clip_vit_l14":
        trained = _load_minivd(spec, minivd_dir)
        if trained is not None:
            return trained
    key = {
        "spec": spec.key(),
        "preprocessing": protocol.network_preprocessing(),
        "seed": seed,
        "calibration": calibration.fingerprint,
        "method": METHOD_VERSION,
        "torch": torch.__version__.split("+")[0],
    }
    cache = Cache.at(cache)
    path = cache.entry("extractors", key, prefix=f"seeded-{spec.name}", length=20, suffix=".pt")
    net = random_net(spec, seed).to(device)

    def restore(entry: Path) -> Standardised:
        saved = torch.load(entry, map_location=device, weights_only=True)
        if not isinstance(saved, dict):
            raise ValueError(f"expected a dict of state and dims, found {type(saved).__name__}")
        restored = Standardised(net, {node: int(d) for node, d in saved["dims"].items()}).to(device)
        restored.load_state_dict(saved["state"])
        return restored

    calibrated = cache.read(path, restore, f"{spec.name} calibrated state")
    if calibrated is not None:
        log.info("%s: calibrated seeded state from %s", spec.name, path)
    else:
        # Sequential (BatchNorm's running averages), single-threaded: robust when other processes share the CPU.
        with single_threaded_ops() if torch.device(device).type == "cpu" else nullcontext():
            calibrated = _calibrate(net, spec, protocol, calibration.images, device)
        dims = {node: getattr(calibrated, f"mean{i}").numel() for i, node in enumerate(net.nodes)}
        with atomic_path(path) as tmp:
            torch.save({"state": calibrated.state_dict(), "dims": dims}, tmp)
    clip = spec.architecture == "clip_vit_l14"
    method = (
        f"seed {seed}, {'transformers' if clip else 'torchvision'} initialisation"
        + (", small ViT (not ViT-L/14)" if clip else "")
        + ("; " if clip else "; BatchNorm statistics re-estimated and ")
        + f"node features standardised on {calibration.description}"
    )
    provenance = {"source": "seeded", "method": method, "seed": seed, "calibration": calibration.fingerprint}
    return LoadedExtractor(calibrated.eval(), spec, provenance)

"""Published weights from local files only: where they are looked for, how they are checked, how they load.

Search order for a file named as its release names it (`ExtractorSpec.weights.filename`):

1. `--weights-dir DIR`: `DIR/<file>`, then `DIR/hub/checkpoints/<file>` (a copy of a TORCH_HOME);
2. torch hub's checkpoints folder: `$TORCH_HOME/hub/checkpoints/<file>` (default `~/.cache/torch`);
3. CLIP only: open_clip's copy in the Hugging Face cache (`$HF_HOME/hub`, repo
   `timm/vit_large_patch14_clip_224.openai`).

Nothing is ever downloaded. A missing file is a `ConfigError` listing every path tried and how to provide it;
a file whose sha256 disagrees with the published one is an `InputError`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from eval.errors import ConfigError, InputError
from eval.metrics import networks
from eval.metrics.extractors import ExtractorSpec, WeightFile

log = logging.getLogger(__name__)

WEIGHT_SOURCE_CHOICES = ("auto", "pretrained", "seeded")
CLIP_HF_REPO = "timm/vit_large_patch14_clip_224.openai"
CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_HASHES: dict[tuple[str, int, int], str] = {}


def resolve_weight_source(requested: str, dataset: str) -> str:
    """'pretrained' or 'seeded' for a run: `auto` means pretrained on real NSD, seeded on SynthNSD.

    Raises:
        ConfigError: `requested` is not one of `WEIGHT_SOURCE_CHOICES`.
    """
    if requested not in WEIGHT_SOURCE_CHOICES:
        raise ConfigError(f"--weights-source: expected one of {', '.join(WEIGHT_SOURCE_CHOICES)}, found {requested!r}")
    if requested != "auto":
        return requested
    return "pretrained" if dataset == "nsd" else "seeded"


def torch_hub_checkpoints() -> Path:
    """torch hub's checkpoints folder ($TORCH_HOME/hub/checkpoints; torch's default when unset)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return Path(home).expanduser() / "hub"


def candidate_paths(spec: ExtractorSpec, weights_dir: Path | None) -> list[Path]:
    """Every path where the extractor's weight file is looked for, in order."""
    name = spec.weights.filename
    paths = []
    if weights_dir is not None:
        paths += [Path(weights_dir) / name, Path(weights_dir) / "hub" / "checkpoints" / name]
    paths.append(torch_hub_checkpoints() / name)
    if spec.architecture == "clip_vit_l14":
        repo = hf_hub_cache() / ("models--" + CLIP_HF_REPO.replace("/", "--")) / "snapshots"
        snapshots = sorted(p for p in repo.iterdir() if p.is_dir()) if repo.is_dir() else [repo / "<snapshot>"]
        paths += [snapshot / file for snapshot in snapshots for file in CLIP_HF_FILES]
    return paths


def resolve_weight_file(spec: ExtractorSpec, weights_dir: Path | None = None) -> Path:
    """The first existing candidate path of the extractor's weight file.

    Raises:
        ConfigError: None exists; the message lists every path tried and how to provide the file.
    """
    tried = candidate_paths(spec, weights_dir)
    for path in tried:
        if path.is_file():
            return path
    raise ConfigError(
        f"{spec.name} weights ({spec.weights.tag}): file {spec.weights.filename} not found; tried "
        + ", ".join(str(p) for p in tried)
        + f". Download {spec.weights.url} into one of these (e.g. --weights-dir DIR or $TORCH_HOME/hub/checkpoints),"
        " or run with --weights-source seeded (not comparable to published numbers)"
    )


def file_sha256(path: Path) -> str:
    """sha256 of a file in hex (memoised by path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def check_weight_file(path: Path, weights: WeightFile) -> dict[str, str]:
    """Check `path` against the published hash (full, else torchvision's prefix rule) when it is that release.

    Returns:
        {"file", "sha256", "check"}: the file's full sha256 and which check passed.

    Raises:
        InputError: The hash disagrees; names the file, the expected and the found hash.
    """
    sha = file_sha256(path)
    if path.name != weights.filename:
        return {"file": str(path), "sha256": sha, "check": "none (converted copy, no published hash)"}
    expected = weights.sha256 or weights.sha256_prefix
    if expected and not sha.startswith(expected):
        raise InputError(
            f"weight file {path}: expected sha256 {'starting with ' if not weights.sha256 else ''}{expected}, "
            f"found {sha}; the file is damaged or another release: download {weights.url} again"
        )
    return {"file": str(path), "sha256": sha, "check": weights.hash_rule}


@dataclass(frozen=True)
class LoadedExtractor:
    """A ready network and the provenance a results file records for it."""

    net: networks.NodeNet
    spec: ExtractorSpec  # as used (the trained SynthNSD CLIP brings its own size, mean and std)
    provenance: dict[str, Any]


def load_pretrained(spec: ExtractorSpec, weights_dir: Path | None = None) -> LoadedExtractor:
    """The extractor with its published weights, from a local file (checked) and nothing else."""
    path = resolve_weight_file(spec, weights_dir)
    provenance = {"source": "pretrained", "tag": spec.weights.tag, **check_weight_file(path, spec.weights)}
    log.info("%s: loading %s", spec.name, path)
    if spec.architecture == "clip_vit_l14":
        model = networks.load_clip_file(str(path), openai_release=path.name == spec.weights.filename)
        return LoadedExtractor(networks.wrap(spec.architecture, model, spec.nodes), spec, provenance)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        raise InputError(f"weight file {path}: cannot be read as a torch state dict: {exc}") from None
    if not isinstance(checkpoint, dict):
        raise InputError(f"weight file {path}: expected a state dict, found {type(checkpoint).__name__}")
    model = networks.build_torchvision(spec.architecture, for_pretrained=True)
    if spec.name == "swav" or spec.weights.filename.startswith("swav"):
        checkpoint = networks.swav_trunk_state(checkpoint, model, str(path))
        missing_fc = {k: v for k, v in model.state_dict().items() if k.startswith("fc.")}
        checkpoint = {**missing_fc, **checkpoint}  # fc stays as built: the avgpool node precedes it
    networks.load_state(model, checkpoint, str(path))
    return LoadedExtractor(networks.wrap(spec.architecture, model.eval(), spec.nodes), spec, provenance)

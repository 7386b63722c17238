"""Finding a Versatile Diffusion folder offline, and checking its weight files against a sha256 manifest.

A model is named by a folder (any VD-layout folder with model_index.json), by `minivd` (the model shipped in
this package), or by a hub id such as `shi-labs/versatile-diffusion`, looked up in the local Hugging Face cache
only: nothing is ever downloaded, whatever HF_HUB_OFFLINE says.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from eval.errors import ConfigError, DataError

MINIVD_DIR = Path(__file__).resolve().parent / "minivd"
MINIVD = "minivd"
REAL_VD = "shi-labs/versatile-diffusion"
MANIFEST = "SHA256SUMS"


def _hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def locate_model(name: str | os.PathLike[str] | None = None) -> Path:
    """The folder of model `name` (default: the shipped MiniVD).

    Raises:
        ConfigError: No folder with a model_index.json was found; the message lists every place looked in.
    """
    name = MINIVD if name is None else name
    tried: list[str] = []
    if str(name) == MINIVD:
        candidates = [MINIVD_DIR]
    else:
        candidates = [Path(name).expanduser()]
    for folder in candidates:
        tried.append(str(folder))
        if (folder / "model_index.json").is_file():
            return folder
    if _looks_like_hub_id(str(name)) and not Path(name).expanduser().exists():
        snapshot = _cached_snapshot(str(name))
        tried.append(f"Hugging Face cache {_hub_cache()} (hub id {name}, local files only)")
        if snapshot is not None:
            return snapshot
    hint = (
        "the MiniVD weights are part of the package: reinstall it or retrain with `python -m eval.backbone.train`"
        if str(name) == MINIVD
        else "pass a folder with model_index.json (--vd-model PATH), or put the hub snapshot in the Hugging Face "
        "cache (HF_HOME or HF_HUB_CACHE) on a machine with network access first"
    )
    raise ConfigError(f"Versatile Diffusion model '{name}' not found; looked in: {'; '.join(tried)}. To fix: {hint}")


def _looks_like_hub_id(name: str) -> bool:
    """'org/name' (no leading '/', '.' or '~'): what the Hugging Face hub calls a repository id."""
    return re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name) is not None


def _cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return folder if (folder / "model_index.json").is_file() else None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def model_files(folder: Path) -> list[Path]:
    """Every file of a model folder but its manifest: weights, configs and tokenizer files all change outputs."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: Path) -> Path:
    """Write `SHA256SUMS` (sha256sum's format) for every file under `folder`."""
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}" for p in model_files(folder)]
    path = folder / MANIFEST
    path.write_text("\n".join(lines) + "\n")
    return path


def verify_manifest(folder: Path) -> dict[str, str] | None:
    """Check every file listed in `folder`/SHA256SUMS; None when the folder has no manifest.

    Raises:
        DataError: A listed file is missing or its sha256 differs (expected and found hashes named).
    """
    path = folder / MANIFEST
    if not path.is_file():
        return None
    expected = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            expected[name.strip()] = digest
    for name, digest in expected.items():
        file = folder / name
        if not file.is_file():
            raise DataError(f"model file {file}: listed in {path} but missing")
        found = sha256_file(file)
        if found != digest:
            raise DataError(f"model file {file}: expected sha256 {digest} (from {path}), found {found}")
    return expected

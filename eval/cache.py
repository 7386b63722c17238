"""Where the harness keeps what it can recompute: generated SynthNSD, prepared subjects, features, extractor
states, decoder targets and checkpoints.

One `Cache` object owns the folder layout and how keys become names: callers say what kind of entry they want
and hand over every parameter that changes its content; a stale entry is never reused because its key differs.
A damaged entry (a truncated file left by a full disk, say) is reported in one warning line, removed and
recomputed, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
from safetensors import SafetensorError

log = logging.getLogger(__name__)

CACHE_ENV = "HAVIR_BENCH_CACHE"
T = TypeVar("T")

# Entry kinds and their folders under the cache root.
KINDS = {
    "synthnsd": "synthnsd",
    "prepared": "prepared",
    "features": "features",
    "extractors": "extractors",
    "targets": "backbone-targets",
    "checkpoints": "checkpoints",
}


def cache_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`explicit`, else $HAVIR_BENCH_CACHE, else the user cache folder (never inside the package)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(platformdirs.user_cache_dir("havir-bench"))


def stable_hash(obj: Any, length: int = 64) -> str:
    """sha256 of a JSON-serialisable object with sorted keys."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# Errors a damaged file raises in the readers the harness uses, measured on truncated and overwritten files:
# numpy (EOFError for an empty .npy, ValueError for a short one), torch.load (RuntimeError for a broken zip,
# EOFError, pickle.UnpicklingError or IndexError for other bytes), safetensors (its own SafetensorError),
# json (ValueError) and a missing file or key (OSError, LookupError).
DAMAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    EOFError,
    LookupError,
    RuntimeError,
    pickle.UnpicklingError,
    SafetensorError,
)


@dataclass(frozen=True)
class Cache:
    """The cache folder and its layout."""

    root: Path

    @classmethod
    def at(cls, explicit: str | os.PathLike[str] | Cache | None = None) -> Cache:
        """The cache at `explicit` (a folder or a Cache), else $HAVIR_BENCH_CACHE, else the user cache folder."""
        if isinstance(explicit, Cache):
            return explicit
        return cls(cache_root(explicit))

    def entry(
        self, kind: str, key: Mapping[str, Any] | str, *, prefix: str = "", length: int = 24, suffix: str = ""
    ) -> Path:
        """The path of the entry of `kind` for `key` (every parameter that changes the content, or a hash).

        The name is `prefix-hash` plus `suffix` (a file type), so a person browsing the cache can tell entries
        apart.
        """
        if kind not in KINDS:
            raise ValueError(f"cache entry kind: expected one of {', '.join(KINDS)}, found {kind!r}")
        digest = key[:length] if isinstance(key, str) else stable_hash(key, length)
        name = f"{prefix}-{digest}" if prefix else digest
        return self.root / KINDS[kind] / f"{name}{suffix}"

    def checkpoint(self, decoder: str, variant: str, subject: int, seed: int, data_fingerprint: str) -> Path:
        """Where the checkpoint of `decoder` (`variant`: what was trained) fitted on one subject's data lives."""
        name = f"subj{subject:02d}-seed{seed}-{data_fingerprint[:16]}"
        return self.root / KINDS["checkpoints"] / decoder / variant / name

    def read(self, path: Path, load: Callable[[Path], T], what: str) -> T | None:
        """`load(path)`, or None when the entry is absent or damaged (then it is removed, with a warning)."""
        if not path.exists():
            return None
        try:
            return load(path)
        except DAMAGE_ERRORS as exc:
            # The first sentence: torch adds several more of advice to a broken zip's one line.
            detail = str(exc).splitlines()[0].split(". ")[0] if str(exc).strip() else type(exc).__name__
            log.warning("cache entry %s (%s) is damaged (%s); computing it again", path, what, detail)
            discard(path)
            return None


def read_meta(path: Path) -> dict[str, Any]:
    """The JSON object describing a cache entry; ValueError (damage) when the file holds anything else."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError(f"{path.name}: expected a JSON object, found {type(meta).__name__}")
    return meta


def discard(path: Path) -> None:
    """Remove a cache entry, file or folder; one that is already gone is fine."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

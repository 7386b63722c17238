"""Where the harness keeps what it can recompute: generated SynthNSD, prepared subjects, features.

Cache keys are content hashes plus every parameter that changes the content, so a stale entry is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import platformdirs

CACHE_ENV = "HAVIR_BENCH_CACHE"


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
